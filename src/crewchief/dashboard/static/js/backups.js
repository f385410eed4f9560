// Backups: the repository's backups (size, dedup, verify) and each scheduler job's plan and state.

import { get } from "./api.js";
import { chartWithLegend } from "./chart.js";
import { bytes, el, fill, showError, table, when } from "./ui.js";

const ACTIONS = ["create", "forget", "verify"]; // a scheduler job's actions, in their order

function sizeChart(backups) {
  const xs = backups.map((b) => new Date(b.created).getTime() / 1000);
  const dateLabel = (t) => new Date(t * 1000).toLocaleDateString([], { month: "short", day: "numeric" })
    + " " + new Date(t * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return chartWithLegend(
    [
      { label: "size", cls: "s-points", xs, ys: backups.map((b) => b.bytes_total || 0) },
      { label: "uploaded", cls: "s-indexed", xs, ys: backups.map((b) => b.bytes_new || 0) },
    ],
    { width: 640, height: 160, yFormat: bytes, xFormat: dateLabel,
      title: "backup size and bytes uploaded over time", empty: "fewer than two backups" },
  );
}

function verifyCell(v) {
  if (!v) return el("td", { "data-verify": "none" }, "not verified");
  const text = `${v.ok ? "ok" : "FAILED"} (${v.mode}, ${when(v.time)})`;
  return el("td", { "data-verify": v.ok ? "ok" : "failed", title: (v.problems || []).join("\n"), class: v.ok ? "ok" : "bad" }, text);
}

function backupsTable(backups) {
  if (!backups.length) return el("p", { class: "empty" }, "No backups yet.");
  const rows = [...backups].reverse().map((b) =>
    el("tr", { "data-backup": b.id },
      el("td", { class: "mono" }, b.id),
      el("td", {}, when(b.created)),
      el("td", {}, b.collections.join(", ")),
      el("td", {}, bytes(b.bytes_total)),
      el("td", {}, bytes(b.bytes_new)),
      el("td", {}, b.dedup_ratio === null || b.dedup_ratio === undefined ? "∞" : `${b.dedup_ratio}×`),
      verifyCell(b.verify)));
  return table(["id", "created", "collections", "size", "uploaded", "dedup", "verify"], rows, { id: "backups" });
}

// A job's cron expressions, one line per scheduled action; state files written before
// the scheduler recorded its plan (or by `schedule --once`) have none.
function scheduleCell(schedule) {
  if (!schedule) return el("td", { "data-field": "schedule", class: "empty" }, "not recorded");
  const lines = ACTIONS.filter((a) => schedule[a]).map((a) =>
    el("div", { "data-action": a }, `${a}: `, el("span", { class: "mono" }, schedule[a])));
  return el("td", { "data-field": "schedule" }, lines.length ? lines : "none");
}

function nextRunCell(nextRun) {
  const now = Date.now();
  const lines = ACTIONS.filter((a) => nextRun && nextRun[a]).map((a) => {
    const overdue = new Date(nextRun[a]).getTime() < now;
    const attrs = { "data-action": a, class: overdue ? "bad" : null,
      title: overdue ? "in the past: is the scheduler running?" : null };
    return el("div", attrs, `${a}: ${when(nextRun[a])}${overdue ? " (overdue)" : ""}`);
  });
  return el("td", { "data-field": "next-run" }, lines.length ? lines : "-");
}

function schedulesTable(schedules) {
  if (!schedules.length) return el("p", { class: "empty" }, "No scheduler has recorded anything here.");
  const rows = schedules.map((s) => {
    const success = s.last_success || {};
    const failure = s.last_failure;
    const verify = s.last_verify;
    return el("tr", { "data-job": s.job },
      el("td", {}, s.job),
      scheduleCell(s.schedule),
      nextRunCell(s.next_run),
      el("td", {}, ACTIONS.map((a) =>
        el("div", {}, `${a}: ${success[a] ? when(success[a]) : "never"}`))),
      el("td", { class: failure ? "bad" : "" },
        failure ? `${failure.action} at ${when(failure.time)}: ${failure.error}` : "none"),
      el("td", { class: verify ? (verify.ok ? "ok" : "bad") : "" },
        verify ? `${verify.ok ? "ok" : "FAILED"}: ${verify.id} (${verify.mode})` : "-"));
  });
  return table(["job", "schedule (UTC)", "next run", "last success", "last failure", "last verify"], rows,
    { id: "schedules" });
}

export function mount(main) {
  async function load() {
    let data;
    try {
      data = await get("backups");
    } catch (err) {
      showError(err, "action");
      return;
    }
    if (!data.configured) {
      fill(main, el("h1", {}, "Backups"), el("p", { class: "empty" },
        "No backup repository configured. Start the server with --repo URL (or set CREWCHIEF_REPO)."));
      return;
    }
    fill(
      main,
      el("h1", {}, "Backups"),
      el("p", { class: "summary" }, `Repository ${data.url}`,
        data.in_progress.length ? ` · in progress: ${data.in_progress.join(", ")}` : ""),
      data.error ? el("p", { class: "error" }, data.error + (data.hint ? ` (${data.hint})` : "")) : null,
      el("section", { class: "panel" }, el("h2", {}, "Size over time"), el("div", { class: "chart-wide" }, sizeChart(data.backups))),
      el("section", { class: "panel" }, el("h2", {}, "Backups (newest first)"), backupsTable(data.backups)),
      el("section", { class: "panel" }, el("h2", {}, "Schedules"), schedulesTable(data.schedules)),
    );
  }
  load();
  return () => {};
}
