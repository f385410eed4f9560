// A small SVG line chart, drawn here so the dashboard needs no chart library.
//
//   lineChart([{label: "points", cls: "s-points", xs: [...], ys: [...]}, ...],
//             {width: 320, height: 90, xFormat: (x) => ..., yFormat: (y) => ...})
//
// x is usually a unix time in seconds; every series shares the axes, y starts at 0.

const NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

export function timeLabel(t) {
  const d = new Date(t * 1000);
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function shortNumber(n) {
  if (Math.abs(n) >= 1e9) return (n / 1e9).toFixed(1) + "G";
  if (Math.abs(n) >= 1e6) return (n / 1e6).toFixed(1) + "M";
  if (Math.abs(n) >= 1e4) return (n / 1e3).toFixed(0) + "k";
  return String(Math.round(n));
}

export function lineChart(series, options = {}) {
  const width = options.width || 320;
  const height = options.height || 90;
  const xFormat = options.xFormat || timeLabel;
  const yFormat = options.yFormat || shortNumber;
  const ys = series.flatMap((s) => s.ys);
  const y1 = Math.max(1, ...ys);
  // room on the left for the longest y label (about 5.5 px per character at 9 px)
  const pad = { left: 10 + 5.5 * yFormat(y1).length, right: 8, top: 8, bottom: 18 };
  const root = svg("svg", {
    class: "chart",
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": options.title || series.map((s) => s.label).join(", "),
  });
  const xs = series.flatMap((s) => s.xs);
  if (Math.max(0, ...series.map((s) => s.xs.length)) < 2) {
    root.append(
      svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle", class: "empty" },
        options.empty || "collecting samples..."),
    );
    return root;
  }
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const px = (x) => pad.left + (x1 === x0 ? plotW : ((x - x0) / (x1 - x0)) * plotW);
  const py = (y) => pad.top + plotH - (y / y1) * plotH;

  root.append(
    svg("line", { x1: pad.left, y1: pad.top + plotH, x2: width - pad.right, y2: pad.top + plotH, class: "axis" }),
    svg("line", { x1: pad.left, y1: pad.top, x2: pad.left, y2: pad.top + plotH, class: "axis" }),
    svg("text", { x: pad.left - 4, y: pad.top + 8, "text-anchor": "end", class: "tick" }, yFormat(y1)),
    svg("text", { x: pad.left - 4, y: pad.top + plotH, "text-anchor": "end", class: "tick" }, yFormat(0)),
    svg("text", { x: pad.left, y: height - 4, class: "tick" }, xFormat(x0)),
    svg("text", { x: width - pad.right, y: height - 4, "text-anchor": "end", class: "tick" }, xFormat(x1)),
  );
  for (const s of series) {
    if (!s.xs.length) continue;
    const points = s.xs.map((x, i) => `${px(x).toFixed(1)},${py(s.ys[i]).toFixed(1)}`).join(" ");
    const line = svg("polyline", { points, class: `line ${s.cls || ""}`, "data-series": s.label });
    line.append(svg("title", {}, `${s.label}: ${yFormat(s.ys[s.ys.length - 1])}`));
    root.append(line);
  }
  return root;
}

// The chart with a legend underneath, as one element.
export function chartWithLegend(series, options = {}) {
  const box = document.createElement("figure");
  box.className = "chart-box";
  box.append(lineChart(series, options));
  const legend = document.createElement("figcaption");
  legend.className = "legend";
  for (const s of series) {
    const item = document.createElement("span");
    item.className = `key ${s.cls || ""}`;
    const last = s.ys.length ? (options.yFormat || shortNumber)(s.ys[s.ys.length - 1]) : "-";
    item.textContent = `${s.label} ${last}`;
    legend.append(item);
  }
  box.append(legend);
  return box;
}
