// Small DOM helpers: elements built with textContent (never innerHTML, so names
// and payloads cannot inject markup), the error banner, and the confirm dialog.

export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

// replaceChildren() would print null as "null": this skips empty children.
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else if (child instanceof Node) node.append(child);
    else node.append(document.createTextNode(String(child)));
  }
}

// -- messages -----------------------------------------------------------------------------------

let bannerSource = null;

// `source` lets the overview's polling clear its own error without hiding
// the answer to an action the user just tried.
export function showError(err, source = "action") {
  const banner = document.getElementById("banner");
  const status = err && err.status ? `${err.status}: ` : "";
  const hint = err && err.hint ? ` (${err.hint})` : "";
  banner.textContent = status + (err && err.message ? err.message : String(err)) + hint;
  banner.dataset.status = err && err.status ? String(err.status) : "";
  banner.hidden = false;
  bannerSource = source;
}

export function clearError(source) {
  if (source && bannerSource !== source) return;
  const banner = document.getElementById("banner");
  banner.hidden = true;
  banner.textContent = "";
  bannerSource = null;
}

export function notice(message) {
  const box = document.getElementById("notice");
  box.textContent = message;
  box.hidden = false;
  clearTimeout(notice.timer);
  notice.timer = setTimeout(() => (box.hidden = true), 4000);
}

// A real modal: resolves true only when the user presses Confirm.
export function confirmDialog(title, lines, confirmLabel = "Confirm") {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-title").textContent = title;
  const list = document.getElementById("confirm-lines");
  list.replaceChildren(...lines.map((line) => el("li", {}, line)));
  document.getElementById("confirm-ok").textContent = confirmLabel;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.showModal();
  });
}

// Runs an action, showing its failure in the banner; returns undefined on failure.
export async function attempt(fn) {
  try {
    const result = await fn();
    clearError("action");
    return result;
  } catch (err) {
    showError(err, "action");
    return undefined;
  }
}

// -- formatting ---------------------------------------------------------------------------------

export function age(seconds) {
  if (seconds === null || seconds === undefined) return "never";
  const s = Math.max(0, seconds);
  if (s < 90) return `${Math.round(s)} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${(s / 3600).toFixed(1)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

export function bytes(n) {
  if (n === null || n === undefined) return "-";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i += 1;
  }
  return i === 0 ? `${value} B` : `${value.toFixed(1)} ${units[i]}`;
}

export function count(n) {
  return n === null || n === undefined ? "-" : Number(n).toLocaleString("en-US");
}

export function when(iso) {
  if (!iso) return "-";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function badge(status) {
  return el("span", { class: `badge status-${status}`, "data-status": status }, status);
}

export function table(headers, rows, attrs) {
  return el(
    "table",
    attrs || {},
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows),
  );
}
