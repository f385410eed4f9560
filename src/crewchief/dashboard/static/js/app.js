// The dashboard's entry point: a hash router over four pages and the API-key form.

import { getKey, setKey } from "./api.js";
import * as aliases from "./aliases.js";
import * as backups from "./backups.js";
import * as collection from "./collection.js";
import * as overview from "./overview.js";
import { clearError } from "./ui.js";

const ROUTES = [
  [/^#?\/?$/, overview, "overview"],
  [/^#\/collection\/(.+)$/, collection, "overview"],
  [/^#\/aliases$/, aliases, "aliases"],
  [/^#\/backups$/, backups, "backups"],
];

let cleanup = null;

function route() {
  if (cleanup) cleanup();
  cleanup = null;
  clearError();
  const main = document.getElementById("main");
  main.replaceChildren();
  const hash = location.hash || "#/";
  for (const [pattern, page, nav] of ROUTES) {
    const match = hash.match(pattern);
    if (!match) continue;
    for (const a of document.querySelectorAll("nav a")) {
      a.classList.toggle("active", a.dataset.page === nav);
    }
    const args = match.slice(1).map(decodeURIComponent);
    cleanup = page.mount(main, ...args) || null;
    return;
  }
  location.hash = "#/";
}

function showKeyState() {
  const key = getKey();
  const state = document.getElementById("key-state");
  state.textContent = key ? "API key set" : "no API key";
  state.classList.toggle("set", Boolean(key));
}

function setUpKeyForm() {
  const form = document.getElementById("key-form");
  const input = document.getElementById("key-input");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    setKey(input.value.trim());
    input.value = "";
    showKeyState();
    route();
  });
  document.getElementById("key-forget").addEventListener("click", () => {
    setKey("");
    showKeyState();
    route();
  });
  showKeyState();
}

setUpKeyForm();
window.addEventListener("hashchange", route);
route();
