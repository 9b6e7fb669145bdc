// Calls to the Oktopus API with the user's bearer token. The token lives in sessionStorage
// (gone when the tab closes, never in a URL) and is dropped on logout or on any 401.

const TOKEN_KEY = "oktopus.token";
const PAGE_SIZE = 200; // the API's largest page

export class ApiError extends Error {
  constructor(status, detail) {
    super(typeof detail === "string" ? detail : `request failed (${status})`);
    this.status = status;
    this.detail = detail;
  }

  /** FastAPI's validation shape: a list of {loc, msg}; anything else becomes one entry. */
  get problems() {
    if (Array.isArray(this.detail)) {
      return this.detail.map((item) => ({ loc: item.loc || [], msg: String(item.msg ?? item) }));
    }
    return [{ loc: [], msg: this.message }];
  }
}

export function hasToken() {
  return Boolean(sessionStorage.getItem(TOKEN_KEY));
}

export function logout() {
  sessionStorage.removeItem(TOKEN_KEY);
}

async function readBody(response) {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** OAuth2 password flow: the form goes in the POST body, the token into sessionStorage. */
export async function login(username, password) {
  const form = new URLSearchParams({ grant_type: "password", username, password });
  let response;
  try {
    response = await fetch("/auth/token", { method: "POST", body: form });
  } catch {
    throw new ApiError(0, "The server cannot be reached; check your connection and try again.");
  }
  const body = await readBody(response);
  if (!response.ok) {
    throw new ApiError(response.status, body?.detail ?? `login failed (${response.status})`);
  }
  sessionStorage.setItem(TOKEN_KEY, body.access_token);
}

/**
 * One authenticated call. `json` sends a JSON body, `form` a FormData (multipart).
 * Answers {status, body}; throws ApiError for any status >= 400. A 401 also ends the session
 * and tells the page (event "oktopus:signed-out") so it can ask for a new login.
 */
export async function call(method, path, { json, form } = {}) {
  const headers = { Authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY) || ""}` };
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form;
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body });
  } catch {
    throw new ApiError(0, "The server cannot be reached; check your connection and try again.");
  }
  const answer = await readBody(response);
  if (response.status === 401) {
    logout();
    window.dispatchEvent(new CustomEvent("oktopus:signed-out", { detail: answer?.detail }));
  }
  if (!response.ok) {
    throw new ApiError(response.status, answer?.detail ?? `request failed (${response.status})`);
  }
  return { status: response.status, body: answer };
}

export async function get(path) {
  return (await call("GET", path)).body;
}

/** Every item of a paged list route, page by page. */
export async function getAll(path) {
  const items = [];
  for (let offset = 0; ; offset += PAGE_SIZE) {
    const separator = path.includes("?") ? "&" : "?";
    const page = await get(`${path}${separator}limit=${PAGE_SIZE}&offset=${offset}`);
    items.push(...page);
    if (page.length < PAGE_SIZE) return items;
  }
}

export const id = encodeURIComponent;
