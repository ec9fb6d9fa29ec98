// The ML pages' logic (agent_console/static/ml_state.js): the annotation page's keys,
// targets, decisions and query; the registry's comparison and rollback offer.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  actionTargets, annotationKey, applyUpdates, candidateQuery, decisionRequest, f1Changes,
  moveIndex, pct, progressView, riskScale, rollbackOffered, selectedIds, selectionText,
  signedPoints, storedComparison
} from "../../agent_console/static/ml_state.js";

describe("annotation keys and targets", () => {
  it("maps the keys of the help overlay", () => {
    assert.deepEqual(annotationKey("j"), { move: 1 });
    assert.deepEqual(annotationKey("ArrowUp"), { move: -1 });
    assert.deepEqual(annotationKey(" "), { toggle: true });
    assert.deepEqual(["a", "r", "x", "o", "n", "t"].map((k) => annotationKey(k).act),
      ["accept", "relabel", "reject", "out_of_scope", "create_intent", "article"]);
    assert.equal(annotationKey("q"), null);
  });

  it("keeps the highlight inside the list", () => {
    assert.equal(moveIndex(0, -1, 5), 0);
    assert.equal(moveIndex(4, 1, 5), 4);
    assert.equal(moveIndex(2, 1, 5), 3);
  });

  it("acts on the selection, else on the highlighted row", () => {
    const items = [{ id: 11 }, { id: 12 }, { id: 13 }];
    assert.deepEqual(actionTargets({ 13: true, 11: true, 12: false }, items, 1), [11, 13]);
    assert.deepEqual(actionTargets({}, items, 1), [12]);
    assert.deepEqual(actionTargets({}, [], 0), []);
    assert.deepEqual(selectedIds({ 3: false }), []);
    assert.equal(selectionText(2), "2 selected: a / r / x / o apply to all of them.");
    assert.match(selectionText(0), /highlighted row/);
  });

  it("calls one candidate's route for a single decision and the bulk route for many", () => {
    assert.deepEqual(decisionRequest("/t", "out_of_scope", [4], null), { path: "/t/candidates/4/out-of-scope", body: undefined, bulk: false });
    assert.deepEqual(decisionRequest("/t", "relabel", [4], "ask_x"), { path: "/t/candidates/4/relabel", body: { intent: "ask_x" }, bulk: false });
    assert.deepEqual(decisionRequest("/t", "accept", [4, 5], null), { path: "/t/candidates/bulk", body: { action: "accept", candidate_ids: [4, 5] }, bulk: true });
    assert.deepEqual(decisionRequest("/t", "relabel", [4, 5], "ask_x").body, { action: "relabel", candidate_ids: [4, 5], intent: "ask_x" });
  });

  it("keeps decided rows in view and moves on after a single decision", () => {
    const items = [{ id: 1, status: "pending" }, { id: 2, status: "pending" }];
    const next = applyUpdates(items, 0, [{ id: 1, status: "accepted" }], true);
    assert.deepEqual(next.items.map((c) => c.status), ["accepted", "pending"]);
    assert.equal(next.current, 1);
    assert.equal(applyUpdates(items, 1, [], true).current, 1);
    assert.equal(applyUpdates(items, 0, [], false).current, 0);
  });

  it("builds the candidates query from the filters", () => {
    const q = new URLSearchParams(candidateQuery({ status: "pending", source: "", band: "low", date_from: "2026-01-02", date_to: "" }, 50));
    assert.equal(q.get("status"), "pending");
    assert.equal(q.has("source"), false);
    assert.equal(q.get("date_from"), "2026-01-02T00:00:00Z");
    assert.equal(q.has("date_to"), false);
    assert.equal(q.get("limit"), "50");
    assert.equal(q.get("offset"), "50");
  });

  it("shows the share decided", () => {
    assert.deepEqual(progressView({ pending: 1, accepted: 2, rejected: 1, out_of_scope: 0 }), { all: 4, done: 0.75, width: "75.0%", share: "75% of 4 decided" });
    assert.equal(progressView({ pending: 0, accepted: 0, rejected: 0, out_of_scope: 0 }).share, "no candidates yet");
  });
});

describe("registry", () => {
  const live = { version: 5, status: "live" };

  it("writes rates and signed points", () => {
    assert.equal(pct(0.1234), "12.3%");
    assert.equal(pct(null), "–");
    assert.deepEqual(signedPoints(0.021), { text: "+2.1", tone: "up" });
    assert.deepEqual(signedPoints(-0.03), { text: "-3.0", tone: "down" });
    assert.deepEqual(signedPoints(0.0001), { text: "+0.0", tone: "" });
    assert.deepEqual(signedPoints(undefined), { text: "–", tone: "" });
  });

  it("offers a rollback to earlier versions that are not live, to those who may promote", () => {
    assert.equal(rollbackOffered({ version: 3, status: "retired" }, live, true), true);
    assert.equal(rollbackOffered({ version: 3, status: "retired" }, live, false), false);
    assert.equal(rollbackOffered({ version: 6, status: "candidate" }, live, true), false);
    assert.equal(rollbackOffered({ version: 2, status: "failed" }, live, true), false);
    assert.equal(rollbackOffered({ version: 2, status: "retired" }, null, true), false);
  });

  it("reuses a stored comparison only against today's live version", () => {
    const version = { metrics: { comparison: { against_version: 5 } } };
    assert.equal(storedComparison(version, live, false), version.metrics.comparison);
    assert.equal(storedComparison(version, live, true), null);
    assert.equal(storedComparison(version, { version: 6 }, false), null);
    assert.equal(storedComparison({ metrics: {} }, live, false), null);
  });

  it("lists the biggest per-intent F1 changes first", () => {
    const rows = [{ intent: "a", delta: 0.01 }, { intent: "b", delta: -0.2 }, { intent: "c", delta: 0 }, { intent: "d", delta: 0.05 }];
    assert.deepEqual(f1Changes(rows).map((r) => r.intent), ["b", "d", "a"]);
    assert.equal(f1Changes(rows, 1).length, 1);
  });

  it("scales the risk axis to the curves and the target", () => {
    assert.equal(riskScale({ candidate: [{ wrong_answer_rate: 0.02 }], live: [] }, 0.01), 0.05);
    assert.equal(riskScale({ candidate: [{ wrong_answer_rate: 0.12 }], live: [{ wrong_answer_rate: 0.3 }] }, 0.1), 0.35);
    assert.equal(riskScale({ candidate: [{ wrong_answer_rate: 1 }] }, 0.1), 1);
  });
});
