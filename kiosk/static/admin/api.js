/* The admin JSON API (/api/admin/...): one function for every call, and the server's
   complaints as sentences a moderator can act on. */

export class ApiError extends Error {
  constructor(status, message, fields = {}) {
    super(message);
    this.status = status;
    this.fields = fields; // field name -> what is wrong with it, for a message beside the field
  }
}

/** One entry of FastAPI's list of field errors, as "field: message". */
function fieldError(error) {
  const field = (error.loc || []).filter((p) => p !== "body" && p !== "query").join(" ");
  const message = String(error.msg || "").replace(/^Value error, /, "");
  return field ? `${field}: ${message}` : message;
}

/** FastAPI's field errors as {field: message}. */
function fieldErrors(data) {
  const detail = data && data.detail;
  if (!Array.isArray(detail)) return {};
  return Object.fromEntries(
    detail.map((e) => [(e.loc || []).at(-1), String(e.msg || "").replace(/^Value error, /, "")]),
  );
}

/** The server's `detail` as one sentence (FastAPI sends a list for field errors). */
export function explain(data, status) {
  const detail = data && data.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) return detail.map(fieldError).join("; ");
  return `The server answered ${status}.`;
}

let csrfToken;

/** The session's token against cross-site requests: sent with every call that changes data. */
export function useCsrfToken(token) {
  csrfToken = token;
}

/** Call the API; `background` marks polling, which must not keep an idle session alive. */
export async function api(method, path, body, background = false) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (background) headers["X-Kiosk-Background"] = "1";
  const response = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    location.assign("/admin/login");
    throw new ApiError(401, "Your session has ended: sign in again.");
  }
  const data = response.status === 204 ? {} : await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new ApiError(response.status, explain(data, response.status), fieldErrors(data));
  }
  return data;
}

/** A background GET that the server may answer 304 to: null when `etag` is still current,
    else the data and its new ETag. */
export async function fetchIfChanged(path, etag) {
  const headers = { Accept: "application/json", "X-Kiosk-Background": "1" };
  if (etag) headers["If-None-Match"] = etag;
  const response = await fetch(path, { headers, credentials: "same-origin" });
  if (response.status === 304) return null;
  if (response.status === 401) {
    location.assign("/admin/login");
    throw new ApiError(401, "Your session has ended: sign in again.");
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, explain(data, response.status));
  return { data, etag: response.headers.get("ETag") };
}
