// The overview: a card per collection, refreshed every 2 s without a reload.

import { enc, get, post } from "./api.js";
import { chartWithLegend } from "./chart.js";
import { age, attempt, badge, clearError, confirmDialog, count, el, fill, notice, showError } from "./ui.js";

const POLL_MS = 2000;

function stat(label, value, attrs) {
  return [el("dt", {}, label), el("dd", attrs || {}, value)];
}

function pointsChart(c) {
  const h = c.history || { t: [], points: [], indexed: [] };
  return chartWithLegend(
    [
      { label: "points", cls: "s-points", xs: h.t, ys: h.points },
      { label: "indexed", cls: "s-indexed", xs: h.t, ys: h.indexed },
    ],
    { width: 300, height: 80, title: `${c.name}: points and indexed vectors over time` },
  );
}

async function takeSnapshot(name) {
  const ok = await confirmDialog(`Create a snapshot of ${name}?`, [
    "A full copy of the collection is written next to its data.",
    "It can be downloaded or deleted from the collection page.",
  ], "Create snapshot");
  if (!ok) return;
  const snap = await attempt(() => post(`collections/${enc(name)}/snapshots`));
  if (snap) notice(`Snapshot ${snap.name} created`);
}

function indicator(i, withSubject = false) {
  const action = i.action ? el("div", { class: "action" }, i.action) : null;
  let button = null;
  if (i.name === "snapshot_age" && i.status !== "green") {
    button = el("button", { class: "small", onclick: () => takeSnapshot(i.subject) }, "Take snapshot");
  } else if (i.name === "alias" && i.status !== "green") {
    button = el("a", { class: "small button", href: "#/aliases" }, "Aliases");
  }
  return el(
    "li",
    { "data-status": i.status, "data-indicator": i.name },
    el("span", { class: `dot status-${i.status}` }),
    el("b", {}, withSubject ? `${i.name} ${i.subject}` : i.name),
    " ",
    el("span", { class: "symptom" }, i.symptom),
    action,
    button,
  );
}

function card(c, repo) {
  const pct = c.indexed_pct === null ? "-" : `${c.indexed_pct}%`;
  return el(
    "article",
    { class: "card", "data-collection": c.name, "data-status": c.status },
    el(
      "header",
      {},
      el("span", { class: `dot status-${c.status}` }),
      el("a", { class: "name", href: `#/collection/${enc(c.name)}` }, c.name),
      badge(c.status),
    ),
    c.error ? el("p", { class: "error" }, c.error) : null,
    el(
      "dl",
      { class: "stats" },
      stat("points", count(c.points), { "data-field": "points" }),
      stat("indexed", `${pct} (${count(c.indexed)} of ${count(c.vectors)})`, { "data-field": "indexed" }),
      stat("segments", count(c.segments)),
      stat("aliases", c.aliases.length ? c.aliases.join(", ") : "none", { "data-field": "aliases" }),
      stat("last snapshot", age(c.last_snapshot_age_s)),
      repo ? stat("last backup", age(c.last_backup_age_s)) : null,
    ),
    pointsChart(c),
    el("ul", { class: "indicators" }, c.indicators.map((i) => indicator(i, i.subject !== c.name))),
  );
}

export function mount(main) {
  const summary = el("p", { class: "summary" });
  const others = el("ul", { class: "indicators other" });
  const grid = el("section", { class: "cards", id: "cards" });
  main.append(el("h1", {}, "Overview"), summary, others, grid);
  const shown = new Map(); // name -> [json, element]: re-render a card only when it changed
  let timer = null;
  let stopped = false;

  function render(data) {
    document.getElementById("target").textContent = `${data.target.kind} · ${data.target.location}`;
    const repo = data.repo;
    fill(
      summary,
      "overall health",
      badge(data.status),
      ` ${data.collections.length} collection(s), checked ${new Date().toLocaleTimeString()}`,
      repo ? ` · backups: ${repo.error ? repo.error : `${repo.backups} in ${repo.url}`}` : "",
    );
    others.replaceChildren(...data.other_indicators.map((i) => indicator(i, true)));
    const names = new Set();
    data.collections.forEach((c, index) => {
      names.add(c.name);
      const json = JSON.stringify(c) + (repo ? "r" : "");
      let entry = shown.get(c.name);
      if (!entry || entry[0] !== json) {
        const node = card(c, repo);
        if (entry) entry[1].replaceWith(node);
        entry = [json, node];
        shown.set(c.name, entry);
      }
      if (grid.children[index] !== entry[1]) grid.insertBefore(entry[1], grid.children[index] || null);
    });
    for (const [name, entry] of shown) {
      if (!names.has(name)) {
        entry[1].remove();
        shown.delete(name);
      }
    }
    if (!data.collections.length) grid.replaceChildren(el("p", { class: "empty" }, "No collections yet."));
    else grid.querySelector(":scope > p.empty")?.remove();
  }

  async function tick() {
    try {
      render(await get("overview"));
      clearError("poll");
    } catch (err) {
      showError(err, "poll");
    }
    if (!stopped) timer = setTimeout(tick, POLL_MS);
  }
  tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
