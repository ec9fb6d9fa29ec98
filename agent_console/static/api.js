/* The staff pages' one API client: fetch with the session cookie, JSON both ways, and every
 * refusal as one error type carrying the API's error body {code, message, field, details}.
 *
 * - 204 answers null; any other success answers the parsed JSON body.
 * - A refusal throws ApiError (status, code, message, field, details, retryAfter). A request
 *   that never got an answer throws ApiError with status 0 and code "network_error".
 * - A 401 outside /api/v1/auth/ means the session ended: the handler set with
 *   onUnauthorized runs (the pages with a login form reload to it, as they do when the live
 *   socket closes with 4401). Login, logout and /auth/me answer their 401s to the caller.
 * - Retry-After (on a 503 or 429) is read into err.retryAfter, in seconds.
 *
 * No DOM access: tests/frontend imports it with a stubbed fetch. */

export class ApiError extends Error {
  constructor(status, body, retryAfter = null) {
    const data = body && typeof body === "object" ? body : {};
    super(data.message || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.code = data.code || null;
    this.field = data.field || null;
    this.details = data.details && typeof data.details === "object" ? data.details : {};
    this.retryAfter = retryAfter;
  }
}

let unauthorizedHandler = null;

/* Called (once per refused request) when the session has ended; null turns it off. */
export function onUnauthorized(handler) {
  unauthorizedHandler = handler;
}

/* Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), or null. */
export function parseRetryAfter(value, now = Date.now()) {
  if (value === null || value === undefined || value === "") return null;
  const text = String(value).trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.round((at - now) / 1000));
}

function isAuthPath(path) {
  return /^\/api\/v1\/auth\//.test(String(path).split("?")[0]);
}

/* The fetch options for a call: JSON unless the body is a FormData (a file upload). */
export function requestInit(method, body) {
  const init = { method, credentials: "same-origin", headers: {} };
  if (body === undefined) return init;
  if (typeof FormData !== "undefined" && body instanceof FormData) {
    init.body = body;  // the browser sets the multipart boundary itself
  } else {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  return init;
}

export async function api(method, path, body) {
  let response;
  try {
    response = await globalThis.fetch(path, requestInit(method, body));
  } catch (err) {
    throw new ApiError(0, { code: "network_error", message: (err && err.message) || "the server could not be reached" });
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (response.ok) return data;
  const retryAfter = parseRetryAfter(response.headers && response.headers.get("Retry-After"));
  const error = new ApiError(response.status, data, retryAfter);
  if (response.status === 401 && !isAuthPath(path) && unauthorizedHandler) unauthorizedHandler(error);
  throw error;
}
