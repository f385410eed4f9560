// One collection: its vectors, config, payload schema, snapshots, a points chart and a search tester.

import { download, enc, get, post } from "./api.js";
import { chartWithLegend } from "./chart.js";
import { age, attempt, badge, bytes, confirmDialog, count, el, fill, notice, showError, table } from "./ui.js";

const CHART_MS = 5000;

function section(title, ...children) {
  return el("section", { class: "panel" }, el("h2", {}, title), ...children);
}

function chart(h) {
  return chartWithLegend(
    [
      { label: "points", cls: "s-points", xs: h.t, ys: h.points },
      { label: "indexed", cls: "s-indexed", xs: h.t, ys: h.indexed },
    ],
    { width: 640, height: 160, title: "points and indexed vectors over time" },
  );
}

function schemaTable(schema) {
  const fields = Object.keys(schema).sort();
  if (!fields.length) return el("p", { class: "empty" }, "No payload indexes.");
  return table(
    ["field", "type", "points"],
    fields.map((f) => el("tr", {}, el("td", {}, f), el("td", {}, schema[f].data_type || "-"),
      el("td", {}, count(schema[f].points)))),
  );
}

function vectorConfig(v) {
  const parts = [];
  if (v.kind === "multi") parts.push(`multivector ${v.multivector}`);
  if (v.kind === "sparse") parts.push(`modifier ${v.modifier}`);
  if (v.on_disk) parts.push("on disk");
  if (v.hnsw) parts.push(`hnsw ${JSON.stringify(v.hnsw)}`);
  if (v.quantization) parts.push(`quantization ${JSON.stringify(v.quantization)}`);
  return parts.join(" · ") || "-";
}

function vectorsPanel(vectors, quantization) {
  const rows = vectors.map((v) =>
    el("tr", { "data-vector": v.name, "data-kind": v.kind },
      el("td", {}, v.name || "(default)"),
      el("td", {}, v.kind),
      el("td", {}, v.kind === "sparse" ? "-" : String(v.size)),
      el("td", {}, v.distance || (v.kind === "sparse" ? "Dot" : "-")),
      el("td", {}, v.datatype),
      el("td", { class: "mono" }, vectorConfig(v))));
  return section("Vectors",
    vectors.length ? table(["name", "kind", "size", "distance", "datatype", "config"], rows, { id: "vectors" })
      : el("p", { class: "empty" }, "No vectors."),
    el("p", { id: "quantization" }, "Quantization: ",
      el("span", { class: "mono" }, quantization ? JSON.stringify(quantization) : "none")));
}

function strictPanel(limits) {
  // the collection's guard rails (Qdrant's strict_mode_config), or a hint when there are none
  if (!limits) {
    return el("p", { class: "empty" },
      "Off: every limit, timeout and unindexed filter is served. Set strict_mode_config " +
      "with PATCH /collections/{name} to add guard rails.");
  }
  const keys = Object.keys(limits).sort();
  if (!keys.length) return el("p", {}, "On, with no limits set.");
  return table(["limit", "value"], keys.map((k) => el("tr", {}, el("td", {}, k),
    el("td", {}, typeof limits[k] === "object" ? JSON.stringify(limits[k]) : String(limits[k])))));
}

function snapshotsPanel(name, snapshots, reload) {
  async function create() {
    const ok = await confirmDialog(`Create a snapshot of ${name}?`,
      ["A full copy of the collection is written next to its data."], "Create snapshot");
    if (!ok) return;
    const snap = await attempt(() => post(`collections/${enc(name)}/snapshots`));
    if (snap) {
      notice(`Snapshot ${snap.name} created`);
      reload();
    }
  }
  async function remove(snap) {
    const ok = await confirmDialog(`Delete snapshot ${snap}?`,
      [`The file is removed from ${name}'s snapshots; this cannot be undone.`], "Delete");
    if (!ok) return;
    const done = await attempt(() => post(`collections/${enc(name)}/snapshots/${enc(snap)}/delete`));
    if (done) {
      notice(`Snapshot ${snap} deleted`);
      reload();
    }
  }
  const rows = snapshots.map((s) =>
    el("tr", { "data-snapshot": s.name },
      el("td", {}, s.name),
      el("td", { title: s.created || "" }, age(s.age_s)),
      el("td", {}, bytes(s.size)),
      el("td", { class: "mono", title: s.checksum || "" }, s.checksum ? s.checksum.slice(0, 16) + "…" : "-"),
      el("td", {},
        el("button", { class: "small", onclick: () =>
          attempt(() => download(`collections/${enc(name)}/snapshots/${enc(s.name)}/file`, s.name)) },
        "Download"),
        " ",
        el("button", { class: "small danger", onclick: () => remove(s.name) }, "Delete"))));
  return section("Snapshots",
    el("p", {}, el("button", { id: "snapshot-create", onclick: create }, "Create snapshot")),
    snapshots.length ? table(["name", "created", "size", "sha256", ""], rows, { id: "snapshots" })
      : el("p", { class: "empty" }, "No snapshots."));
}

function searchPanel(name, allVectors) {
  const vectors = allVectors.filter((v) => v.searchable);
  if (!vectors.length) {
    return section("Search tester", el("p", { class: "empty", id: "search-none" },
      "No dense vector to search: this collection has sparse vectors or multi-vectors only."));
  }
  const area = el("textarea", { id: "search-vector", rows: 3, placeholder: "Paste a vector: 0.12, -0.5, ..." });
  const limit = el("input", { id: "search-limit", type: "number", min: 1, max: 100, value: 10 });
  const using = el("select", { id: "search-using" },
    vectors.map((v) => el("option", { value: v.name },
      `${v.name || "(default)"} · ${v.size}-d ${v.distance}${v.datatype !== "float32" ? " " + v.datatype : ""}`)));
  const results = el("div", { id: "search-results" });

  const asQuery = el("input", { id: "search-as-query", type: "checkbox" });
  asQuery.onchange = () => {
    area.placeholder = asQuery.checked
      ? 'A Query API body: {"query": [0.12, ...], "using": "...", "prefetch": [...], "limit": 10}'
      : "Paste a vector: 0.12, -0.5, ...";
  };

  async function run(random) {
    const body = { limit: Number(limit.value) || 10, using: using.value || null };
    if (random) body.random = true;
    else if (asQuery.checked) body.query_body = area.value;  // the server parses it, errors shown
    else body.vector = area.value;
    const found = await attempt(() => post(`collections/${enc(name)}/search`, body));
    if (!found) return;
    if (random) {
      asQuery.checked = false;
      asQuery.onchange();
      area.value = found.vector.map((x) => +x.toFixed(6)).join(", ");
    }
    fill(
      results,
      found.query_id !== null ? el("p", {}, `Query: the vector of point ${found.query_id}`) : null,
      table(["id", "score", "payload"], found.hits.map((h) =>
        el("tr", {}, el("td", {}, String(h.id)), el("td", {}, h.score.toFixed(4)),
          el("td", { class: "mono" }, JSON.stringify(h.payload || {}))))),
    );
  }
  return section("Search tester",
    area,
    el("div", { class: "row" },
      el("label", {}, "top-k ", limit), " ", el("label", {}, "vector ", using), " ",
      el("label", {}, asQuery, " Query API JSON body"), " ",
      el("button", { onclick: () => run(false) }, "Search"), " ",
      el("button", { onclick: () => run(true) }, "Random point's vector")),
    results);
}

export function mount(main, name) {
  let stopped = false;
  let timer = null;
  const chartBox = el("div", { class: "chart-wide" });

  async function refreshChart() {
    try {
      chartBox.replaceChildren(chart(await get(`collections/${enc(name)}/history`)));
    } catch {
      // the next tick tries again; the page's own errors are shown by load()
    }
    if (!stopped) timer = setTimeout(refreshChart, CHART_MS);
  }

  async function load() {
    let c;
    try {
      c = await get(`collections/${enc(name)}`);
    } catch (err) {
      showError(err, "action");
      fill(main, el("h1", {}, name), el("p", {}, el("a", { href: "#/" }, "Back to the overview")));
      return;
    }
    chartBox.replaceChildren(chart(c.history));
    fill(
      main,
      el("h1", {}, el("span", { class: `dot status-${c.status}` }), name, " ", badge(c.status)),
      el("p", { class: "summary" },
        `${count(c.points)} points · ${count(c.indexed)} indexed vectors · ${c.segments} segments · aliases: `,
        c.aliases.length ? c.aliases.join(", ") : "none"),
      section("Points and indexed vectors", chartBox),
      snapshotsPanel(name, c.snapshots, load),
      vectorsPanel(c.vectors, c.quantization),
      searchPanel(name, c.vectors),
      section("Payload schema", schemaTable(c.payload_schema)),
      section("Strict mode", strictPanel(c.strict_mode)),
      section("Configuration", el("pre", { id: "config" }, JSON.stringify(c.config, null, 2))),
    );
  }
  load().then(() => {
    if (!stopped) timer = setTimeout(refreshChart, CHART_MS);
  });
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
