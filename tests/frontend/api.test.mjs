// The staff pages' API client (agent_console/static/api.js) against a stubbed fetch.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";

import { ApiError, api, onUnauthorized, parseRetryAfter, requestInit } from "../../agent_console/static/api.js";

function answer(status, body, headers = {}) {
  const text = body === undefined ? "" : JSON.stringify(body);
  return new Response(status === 204 ? null : text, { status, headers });
}

let calls;
function stub(...responses) {
  globalThis.fetch = async (path, init) => {
    calls.push({ path, init });
    const next = responses.shift();
    if (next instanceof Error) throw next;
    return next;
  };
}

describe("api", () => {
  const realFetch = globalThis.fetch;
  beforeEach(() => { calls = []; onUnauthorized(null); });
  afterEach(() => { globalThis.fetch = realFetch; onUnauthorized(null); });

  it("sends JSON with the session cookie and answers the parsed body", async () => {
    stub(answer(201, { id: 7 }));
    const data = await api("POST", "/api/v1/agent/tickets/3/notes", { text: "hi" });
    assert.deepEqual(data, { id: 7 });
    assert.equal(calls[0].path, "/api/v1/agent/tickets/3/notes");
    assert.equal(calls[0].init.method, "POST");
    assert.equal(calls[0].init.credentials, "same-origin");
    assert.equal(calls[0].init.headers["Content-Type"], "application/json");
    assert.equal(calls[0].init.body, JSON.stringify({ text: "hi" }));
  });

  it("sends no body and no content type without a body", () => {
    const init = requestInit("GET");
    assert.equal(init.body, undefined);
    assert.deepEqual(init.headers, {});
  });

  it("passes a FormData upload as it is, for the browser to set the boundary", () => {
    const form = new FormData();
    form.set("file", "x");
    const init = requestInit("POST", form);
    assert.equal(init.body, form);
    assert.equal(init.headers["Content-Type"], undefined);
  });

  it("answers null for 204", async () => {
    stub(answer(204));
    assert.equal(await api("DELETE", "/api/v1/agent/canned/1"), null);
  });

  it("turns the error body into one ApiError", async () => {
    stub(answer(409, { code: "conflict", message: "ticket 3 is closed", field: "status", details: { status: "closed" } }));
    await assert.rejects(api("POST", "/api/v1/agent/tickets/3/claim"), (err) => {
      assert.ok(err instanceof ApiError);
      assert.ok(err instanceof Error);
      assert.equal(err.status, 409);
      assert.equal(err.code, "conflict");
      assert.equal(err.message, "ticket 3 is closed");
      assert.equal(err.field, "status");
      assert.deepEqual(err.details, { status: "closed" });
      assert.equal(err.retryAfter, null);
      return true;
    });
  });

  it("names the status when the body is not JSON", async () => {
    stub(new Response("<html>bad gateway</html>", { status: 502 }));
    await assert.rejects(api("GET", "/api/v1/reports/volume"), { name: "ApiError", status: 502, message: "HTTP 502", code: null });
  });

  it("reads Retry-After on a 503", async () => {
    stub(answer(503, { code: "database_unavailable", message: "retry shortly" }, { "Retry-After": "5" }));
    await assert.rejects(api("GET", "/api/v1/agent/queue"), { status: 503, retryAfter: 5 });
  });

  it("reports a request that got no answer as a network error", async () => {
    stub(new TypeError("Failed to fetch"));
    await assert.rejects(api("GET", "/api/v1/agent/queue"), { name: "ApiError", status: 0, code: "network_error", message: "Failed to fetch" });
  });

  it("calls the unauthorized handler for a 401 outside the auth API", async () => {
    const seen = [];
    onUnauthorized((err) => seen.push(err.code));
    stub(answer(401, { code: "authentication_required", message: "session has expired; log in again" }));
    await assert.rejects(api("GET", "/api/v1/agent/queue"), { status: 401 });
    assert.deepEqual(seen, ["authentication_required"]);
  });

  it("leaves the login's own 401s (wrong password, /auth/me) to the caller", async () => {
    let called = 0;
    onUnauthorized(() => { called += 1; });
    stub(answer(401, { code: "authentication_required", message: "e-mail or password is wrong" }),
         answer(401, { code: "authentication_required", message: "log in first" }));
    await assert.rejects(api("POST", "/api/v1/auth/login", { email: "a", password: "b" }), { message: "e-mail or password is wrong" });
    await assert.rejects(api("GET", "/api/v1/auth/me?x=1"), { status: 401 });
    assert.equal(called, 0);
  });

  it("does not call the handler for other refusals", async () => {
    let called = 0;
    onUnauthorized(() => { called += 1; });
    stub(answer(403, { code: "permission_denied", message: "needs tickets.assign" }));
    await assert.rejects(api("POST", "/api/v1/agent/tickets/1/assign", {}), { status: 403 });
    assert.equal(called, 0);
  });
});

describe("parseRetryAfter", () => {
  it("reads seconds and HTTP dates", () => {
    assert.equal(parseRetryAfter("1"), 1);
    assert.equal(parseRetryAfter(" 2.5 "), 2.5);
    const now = Date.parse("2026-01-01T00:00:00Z");
    assert.equal(parseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now), 30);
    assert.equal(parseRetryAfter("Wed, 31 Dec 2025 23:00:00 GMT", now), 0);
  });

  it("answers null for nothing or nonsense", () => {
    assert.equal(parseRetryAfter(null), null);
    assert.equal(parseRetryAfter(""), null);
    assert.equal(parseRetryAfter("soon"), null);
  });
});
