/* Jotty's chart renderer: a few SVG charts drawn from the dashboard's JSON. No dependencies; every
   label goes in with textContent, so a value is never read as markup. */
"use strict";
const Charts = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const COLORS = { completed: "#2f9e44", partial: "#e8a400", skipped: "#868e96", failed: "#e03131",
                   running: "#1c7ed6", cancelled: "#adb5bd", prompt: "#4263eb", completion: "#12b886" };

  function el(name, attrs, parent) {
    const node = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (parent) parent.appendChild(node);
    return node;
  }
  function label(parent, x, y, text, attrs) {
    const t = el("text", Object.assign({ x, y, "font-size": 11, fill: "#343a40" }, attrs || {}), parent);
    t.textContent = text;
    return t;
  }
  function tip(node, text) { el("title", {}, node).textContent = text; }
  function svg(host, width, height) {
    host.replaceChildren();
    return el("svg", { viewBox: `0 0 ${width} ${height}`, width, role: "img", class: "chart",
                       preserveAspectRatio: "xMinYMin meet" }, host);
  }
  function nice(max) {
    if (max <= 0) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(max)));
    return [1, 2, 5, 10].map((m) => m * p).find((v) => v >= max);
  }
  function fmt(v) {
    if (typeof v !== "number") return String(v);
    if (Math.abs(v) >= 1000) return v.toLocaleString("en-US", { maximumFractionDigits: 0 });
    return String(Math.round(v * 1000) / 1000);
  }

  /* Vertical bars: labels along x, one or more series (stacked). */
  function bars(host, { labels, series, height = 180 }) {
    const width = Math.max(560, labels.length * 28 + 76);
    const s = svg(host, width, height + 90);  // room below for a slanted 12-character label
    const totals = labels.map((_, i) => series.reduce((a, ser) => a + (ser.values[i] || 0), 0));
    const top = nice(Math.max(0, ...totals));
    const x0 = 64, bw = (width - x0 - 8) / Math.max(1, labels.length);
    for (let g = 0; g <= 4; g++) {
      const y = 22 + height - (height * g) / 4;
      el("line", { x1: x0, x2: width - 4, y1: y, y2: y, stroke: "#e9ecef" }, s);
      label(s, x0 - 4, y + 4, fmt((top * g) / 4), { "text-anchor": "end" });
    }
    labels.forEach((name, i) => {
      let y = 22 + height;
      for (const ser of series) {
        const v = ser.values[i] || 0;
        const h = (height * v) / top;
        y -= h;
        const r = el("rect", { x: x0 + i * bw + 2, y, width: Math.max(1, bw - 4), height: h,
                               fill: ser.color || COLORS[ser.name] || "#4263eb" }, s);
        tip(r, `${name}: ${ser.name} ${fmt(v)}`);
      }
      if (labels.length <= 40 || i % Math.ceil(labels.length / 40) === 0) {
        label(s, x0 + i * bw + bw / 2, height + 36, short(name),
              { "text-anchor": "end", transform: `rotate(-35 ${x0 + i * bw + bw / 2} ${height + 36})` });
      }
    });
    legend(s, series.map((x) => x.name), width - 8, 10);
  }

  /* A bar's label: a path's last segment (a step's name), cut to 12 characters with an ellipsis. */
  function short(name) {
    const text = String(name).split("/").pop() || String(name);
    return text.length > 12 ? "…" + text.slice(-11) : text;
  }

  function legend(s, names, right, y) {
    let x = right;
    for (const name of names.slice().reverse()) {
      const w = name.length * 7 + 18;
      x -= w;
      el("rect", { x, y: y - 9, width: 10, height: 10, fill: COLORS[name] || "#4263eb" }, s);
      label(s, x + 14, y, name);
    }
  }

  /* Horizontal bars: one row per label, for the insights tables. */
  function hbars(host, { labels, values }) {
    const row = 18, width = 520, left = 200;
    const s = svg(host, width, labels.length * row + 8);
    const top = Math.max(...values, 0) || 1;
    labels.forEach((name, i) => {
      const y = 4 + i * row;
      label(s, left - 6, y + 12, String(name).length > 30 ? "…" + String(name).slice(-29) : String(name),
            { "text-anchor": "end" });
      const w = ((width - left - 60) * (values[i] || 0)) / top;
      tip(el("rect", { x: left, y: y + 2, width: Math.max(1, w), height: row - 6, fill: "#4263eb" }, s),
          `${name}: ${fmt(values[i])}`);
      label(s, left + w + 4, y + 12, fmt(values[i]));
    });
  }

  /* Lines over x = 1..n (the learning curve). */
  function line(host, { series, height = 200 }) {
    const width = 640, x0 = 48;
    const s = svg(host, width, height + 40);
    const n = Math.max(1, ...series.map((x) => x.values.length));
    const top = nice(Math.max(0, ...series.flatMap((x) => x.values)));
    for (let g = 0; g <= 4; g++) {
      const y = 8 + height - (height * g) / 4;
      el("line", { x1: x0, x2: width - 4, y1: y, y2: y, stroke: "#e9ecef" }, s);
      label(s, x0 - 4, y + 4, fmt((top * g) / 4), { "text-anchor": "end" });
    }
    const palette = ["#4263eb", "#12b886", "#e8590c"];
    series.forEach((ser, k) => {
      const pts = ser.values.map((v, i) =>
        `${x0 + ((width - x0 - 8) * i) / Math.max(1, n - 1)},${8 + height - (height * v) / top}`);
      el("polyline", { points: pts.join(" "), fill: "none", stroke: palette[k % 3], "stroke-width": 2 }, s);
      COLORS[ser.name] = COLORS[ser.name] || palette[k % 3];
    });
    label(s, x0, height + 24, "1");
    label(s, width - 8, height + 24, String(n), { "text-anchor": "end" });
    legend(s, series.map((x) => x.name), width - 8, height + 38);
  }

  /* The run timeline: one row per step (indented like the tree), a bar per call on a shared axis.
     Drawn at the host's own width (not scaled: at 800 px a 1240-wide drawing made its text 6 px),
     and drawn again when that width changes. */
  function timeline(host, data, onPick) {
    host.timelineData = data;
    host.timelinePick = onPick;
    drawTimeline(host);
    if (!host.timelineWatched && window.ResizeObserver) {
      host.timelineWatched = true;
      let drawn = host.clientWidth;
      new ResizeObserver(() => {
        if (host.clientWidth !== drawn) { drawn = host.clientWidth; drawTimeline(host); }
      }).observe(host);
    }
  }

  function drawTimeline(host) {
    const { start, end, rows } = host.timelineData, onPick = host.timelinePick;
    const width = Math.max(480, host.clientWidth || 1240);
    const row = 20, left = Math.min(220, Math.round(width * 0.28));
    const span = Math.max(end - start, 1e-6);
    const s = svg(host, width, rows.length * row + 30);
    const x = (t) => left + ((width - left - 10) * (t - start)) / span;
    for (let g = 0; g <= 4; g++) {
      const gx = left + ((width - left - 10) * g) / 4;
      el("line", { x1: gx, x2: gx, y1: 0, y2: rows.length * row + 6, stroke: "#e9ecef" }, s);
      label(s, gx, rows.length * row + 20, `${fmt((span * g) / 4)} s`, { "text-anchor": g === 4 ? "end" : "middle" });
    }
    rows.forEach((r, i) => {
      const y = i * row + 4;
      const fits = Math.max(4, Math.floor((left - 10 - r.depth * 12) / 6.5));  // 11 px text: about 6.5 px a character
      const name = label(s, 6 + r.depth * 12, y + 12, r.name.length > fits ? r.name.slice(0, fits - 1) + "…" : r.name);
      name.setAttribute("class", "tl-name");
      const g = el("g", { class: "tl-row", "data-path": r.path }, s);
      el("rect", { x: 0, y, width, height: row - 2, fill: "transparent" }, g);
      const calls = r.calls.length ? r.calls : (r.start != null
        ? [{ start: r.start, end: r.start + (r.duration || 0), status: r.status, attempt: 1 }] : []);
      for (const c of calls) {
        const stop = c.end != null ? c.end : end;
        const bar = el("rect", { x: x(c.start), y: y + 3, width: Math.max(2, x(stop) - x(c.start)), height: row - 8,
                                 rx: 2, fill: COLORS[c.status] || "#868e96",
                                 class: c.fallback ? "tl-call fallback" : "tl-call" }, g);
        tip(bar, `${r.path} · attempt ${c.attempt}${c.fallback ? " (fallback)" : ""} · ${c.status} · ` +
                 `${fmt(stop - c.start)} s`);
      }
      if (onPick) g.addEventListener("click", () => onPick(r.path));
    });
  }

  return { bars, hbars, line, timeline, COLORS, fmt };
})();
