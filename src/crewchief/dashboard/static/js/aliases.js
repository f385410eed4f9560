// Aliases: where each points, every change ever made, rollback and switch.
// Each move shows its plan in a confirm dialog first, then posts it with the
// target the user saw (`expect`): a move made meanwhile by someone else is refused.

import { enc, get, post } from "./api.js";
import { attempt, confirmDialog, el, fill, notice, showError, table, when } from "./ui.js";

function planLines(plan) {
  const lines = [...plan.reasons];
  for (const forced of plan.forced || []) lines.push(`Overriding a safety net: ${forced}`);
  return lines;
}

async function rollback(alias, reload) {
  const plan = await attempt(() => get(`aliases/${enc(alias)}/plan?rollback=1`));
  if (!plan) return;
  if (!(await confirmDialog(`Roll back ${alias}?`, planLines(plan), "Roll back"))) return;
  const done = await attempt(() => post(`aliases/${enc(alias)}/rollback`, { expect: plan.current }));
  if (done) {
    notice(`${alias} now points at ${done.plan.new}`);
    reload();
  }
}

async function switchAlias(alias, collection, force, reload) {
  const query = `collection=${enc(collection)}${force ? "&force=1" : ""}`;
  const plan = await attempt(() => get(`aliases/${enc(alias)}/plan?${query}`));
  if (!plan) return;
  if (plan.current === plan.new) {
    notice(`${alias} already points at ${collection}`);
    return;
  }
  if (!(await confirmDialog(`Switch ${alias} to ${collection}?`, planLines(plan), "Switch"))) return;
  const body = { collection, expect: plan.current, force };
  const done = await attempt(() => post(`aliases/${enc(alias)}/switch`, body));
  if (done) {
    notice(`${alias} now points at ${collection}`);
    reload();
  }
}

function switchForm(data, reload) {
  const alias = el("input", { id: "switch-alias", list: "alias-names", required: true, placeholder: "alias" });
  const collection = el("select", { id: "switch-collection", required: true },
    data.collections.map((c) => el("option", { value: c }, c)));
  const force = el("input", { id: "switch-force", type: "checkbox" });
  const form = el("form", { id: "switch-form", class: "row" },
    el("datalist", { id: "alias-names" }, data.aliases.map((a) => el("option", { value: a.alias }))),
    el("label", {}, "Point ", alias), " ",
    el("label", {}, "at ", collection), " ",
    el("label", { title: "Allow an empty or red collection" }, force, " force"), " ",
    el("button", { type: "submit", class: "primary" }, "Switch…"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    switchAlias(alias.value.trim(), collection.value, force.checked, reload);
  });
  return form;
}

function current(data, reload) {
  if (!data.aliases.length) return el("p", { class: "empty" }, "No aliases.");
  return table(["alias", "points at", "since", ""], data.aliases.map((a) =>
    el("tr", { "data-alias": a.alias },
      el("td", {}, a.alias),
      el("td", { "data-field": "collection" }, el("a", { href: `#/collection/${enc(a.collection)}` }, a.collection)),
      el("td", {}, when(a.since)),
      el("td", {}, el("button", { class: "small", onclick: () => rollback(a.alias, reload) }, "Roll back…")))),
  { id: "aliases" });
}

function timeline(history) {
  if (!history.length) return el("p", { class: "empty" }, "No alias changes recorded.");
  return el("ol", { class: "timeline", id: "history" }, history.map((h) =>
    el("li", { "data-alias": h.alias, "data-op": h.op, "data-new": h.new || "" },
      el("time", {}, when(h.time)), " ",
      el("b", {}, h.alias), " ",
      el("span", { class: "move" }, `${h.old || "unset"} → ${h.new || "deleted"}`), " ",
      el("span", { class: "op" }, h.op))));
}

export function mount(main) {
  async function load() {
    let data;
    try {
      data = await get("aliases");
    } catch (err) {
      showError(err, "action");
      return;
    }
    fill(
      main,
      el("h1", {}, "Aliases"),
      el("section", { class: "panel" }, el("h2", {}, "Current targets"), current(data, load)),
      el("section", { class: "panel" }, el("h2", {}, "Switch an alias"), switchForm(data, load)),
      el("section", { class: "panel" }, el("h2", {}, "History (newest first)"), timeline(data.history)),
    );
  }
  load();
  return () => {};
}
