// Calls to the dashboard's JSON API, with the API key the user entered.
// The key lives in sessionStorage: gone when the tab closes, never in a URL.

const KEY = "crewchief.apiKey";

export function getKey() {
  return sessionStorage.getItem(KEY) || "";
}

export function setKey(key) {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

export class ApiError extends Error {
  constructor(status, message, hint) {
    super(message);
    this.status = status;
    this.hint = hint || null;
  }
}

export const enc = encodeURIComponent;

export function apiUrl(path) {
  return new URL("api/" + path, document.baseURI).toString();
}

function headers(json) {
  const h = {};
  const key = getKey();
  if (key) h["api-key"] = key;
  if (json) h["content-type"] = "application/json";
  return h;
}

async function failure(resp) {
  let data = null;
  try {
    data = await resp.json();
  } catch {
    // not JSON: fall back to the status line
  }
  const message = (data && data.status && data.status.error) || resp.statusText || "failed";
  let hint = data && data.hint;
  if (resp.status === 401 && !hint) hint = "Enter the server's API key at the top right.";
  return new ApiError(resp.status, message, hint);
}

async function call(method, path, body) {
  let resp;
  try {
    resp = await fetch(apiUrl(path), {
      method,
      headers: headers(body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, "The dashboard server does not answer: " + err.message);
  }
  if (!resp.ok) throw await failure(resp);
  const data = await resp.json();
  return data.result;
}

export function get(path) {
  return call("GET", path);
}

export function post(path, body) {
  return call("POST", path, body || {});
}

// A plain link cannot carry the api-key header, so downloads go through fetch.
export async function download(path, filename) {
  const resp = await fetch(apiUrl(path), { headers: headers(false) });
  if (!resp.ok) throw await failure(resp);
  const url = URL.createObjectURL(await resp.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
