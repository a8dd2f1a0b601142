/* Jotty dashboard pages, drawn from /api/... JSON. Every value goes into the page as a text node
   (h() never parses HTML), so a stored "<script>" shows as text. */
"use strict";
(() => {
  const app = document.getElementById("app");
  const PAGE = app.dataset.page, ARG = app.dataset.arg;

  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, String(v));
    }
    for (const c of children.flat()) {
      if (c == null || c === false) continue;
      node.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }
  const when = (t) => (t == null ? "" : new Date(typeof t === "number" ? t * 1000 : t).toLocaleString());
  const secs = (s) => (s == null ? "" : s < 1 ? `${Math.round(s * 1000)} ms` : `${s.toFixed(2)} s`);
  const num = (n) => (n == null ? "" : Number(n).toLocaleString("en-US"));
  const badge = (s) => h("span", { class: `badge ${s}` }, s);
  const enc = encodeURIComponent;

  async function getJSON(url) {
    const res = await fetch(url, { credentials: "same-origin" });
    const body = await res.json();
    if (!res.ok) throw new Error(body.error || `HTTP ${res.status}`);
    return body;
  }
  function show(...nodes) { app.replaceChildren(...nodes.flat().filter((n) => n != null && n !== false)); }
  function fail(err) { show(h("p", { class: "error" }, String(err.message || err))); }
  function table(columns, rows, cell) {
    return h("table", {}, h("thead", {}, h("tr", {}, columns.map((c) => h("th", { class: c.num ? "num" : null }, c.title)))),
      h("tbody", {}, rows.map((r) => h("tr", {}, columns.map((c) => h("td", { class: c.num ? "num" : c.wrap ? "wrap" : null }, cell(r, c.key)))))));
  }
  function query() { return new URLSearchParams(location.search); }
  function filterForm(fields, onSubmit) {
    const q = query();
    const inputs = fields.map((f) => {
      const input = f.options
        ? h("select", { name: f.name }, h("option", { value: "" }, "any"),
            f.options.map((o) => h("option", { value: o, selected: (q.get(f.name) || f.value) === o ? "selected" : null }, o)))
        : h("input", { name: f.name, type: f.type || "text", value: q.get(f.name) || "", placeholder: f.placeholder || "" });
      return h("label", {}, f.label, input);
    });
    const form = h("form", { class: "filters" }, inputs, h("button", { type: "submit" }, "Filter"));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const params = new URLSearchParams();
      for (const [k, v] of new FormData(form)) if (v) params.set(k, v);
      onSubmit(params);
    });
    return form;
  }

  /* Runs */
  async function runsPage() {
    const q = query();
    const data = await getJSON(`/api/runs?${q}`);
    const form = filterForm([
      { name: "status", label: "status", options: data.statuses },
      { name: "flow", label: "flow", options: data.flows },
      { name: "owner", label: "who ran it" },
      { name: "since", label: "since", type: "datetime-local" },
      { name: "until", label: "until", type: "datetime-local" },
    ], (p) => { location.search = p.toString(); });
    const rows = table([
      { key: "run_id", title: "run" }, { key: "flow", title: "flow" }, { key: "status", title: "status" },
      { key: "created_at", title: "started" }, { key: "duration", title: "duration", num: true },
      { key: "tokens", title: "tokens", num: true }, { key: "owner", title: "who ran it" },
    ], data.runs, (r, k) => {
      if (k === "run_id") return h("a", { href: `/runs/${enc(r.run_id)}` }, r.run_id);
      if (k === "status") return [badge(r.status), r.error ? h("div", { class: "error" }, r.error.slice(0, 160)) : null];
      if (k === "created_at") return when(r.created_at);
      if (k === "duration") return secs(r.duration);
      if (k === "tokens") return num(r.tokens);
      return r[k];
    });
    const pager = h("div", { class: "pager" });
    if (data.next) { const n = query(); n.set("cursor", data.next); pager.appendChild(h("a", { href: `?${n}` }, "Older runs →")); }
    if (q.get("cursor")) { const n = query(); n.delete("cursor"); pager.appendChild(h("a", { href: `?${n}`, style: "margin-left:16px" }, "Newest")); }
    show(h("h1", {}, "Runs"), form, data.runs.length ? rows : h("p", { class: "muted" }, "No runs match."), pager);
  }

  /* One run */
  let picked = null, runData = null;
  function strategyTags(n) {
    const fired = n.strategies.length ? n.strategies.map((s) => s.strategy) : (n.strategy ? [n.strategy] : []);
    return fired.map((s) => h("span", { class: `tag ${s}` }, s));
  }
  function treeNode(n) {
    const label = h("span", { class: `node${picked === n.path ? " picked" : ""}`, "data-path": n.path, onclick: () => pick(n.path) },
      badge(n.status), " ", n.name, h("span", { class: "kind" }, n.kind),
      n.attempts > 1 ? h("span", { class: "tag" }, `${n.attempts} attempts`) : null, strategyTags(n),
      n.restored ? h("span", { class: "tag" }, "restored") : null,
      n.duration != null ? h("span", { class: "kind" }, secs(n.duration)) : null,
      n.prompt_tokens + n.completion_tokens ? h("span", { class: "kind" }, `${num(n.prompt_tokens + n.completion_tokens)} tok`) : null);
    return h("li", {}, label, n.children.length ? h("ul", {}, n.children.map(treeNode)) : null);
  }
  function find(n, path) {
    if (n.path === path) return n;
    for (const c of n.children) { const f = find(c, path); if (f) return f; }
    return null;
  }
  function valueBlock(title, v) {
    if (!v) return h("div", {}, h("b", {}, title), h("p", { class: "muted" }, "not stored"));
    return h("div", {}, h("b", {}, title), h("pre", { class: "value" }, v.text),
      v.truncated ? h("a", { href: v.href, target: "_blank" }, `Full value (${num(v.size)} characters)`) : null);
  }
  const count = (n, one, many) => `${num(n || 0)} ${n === 1 ? one : many}`;
  function prefetchText(p) {
    return [count(p.hits, "hit", "hits"), count(p.misses, "miss", "misses"),
      p.reused ? `${num(p.reused)} reused` : null, p.wasted != null ? `${num(p.wasted)} wasted` : null].filter(Boolean).join(" · ");
  }
  function contextBlock(c) {
    if (!c || !(c.windows.length || c.prefetch.length || c.compressed.length)) return null;
    const line = (label, ...parts) => h("p", {}, h("b", {}, label), " ", parts.filter((x) => x != null && x !== "").join(" · "));
    return h("div", { id: "context" }, h("b", {}, "Context"),
      c.windows.map((w) => line(w.repeat ? "Window (a retry's or fallback's)" : w.fallback ? "Window (fallback)" : "Window",
        w.level, w.category ? `category ${w.category}` : null, w.tokens != null ? `${num(w.tokens)} tokens` : null,
        w.parts != null ? count(w.parts, "part", "parts") : null, w.sources && w.sources.length ? `sources ${w.sources.join(", ")}` : null)),
      c.prefetch.map((p) => line("Prefetch", prefetchText(p), p.needed && p.needed.length ? `of ${p.needed.join(", ")}` : "nothing needed")),
      c.compressed.map((x) => h("div", {}, line("Compressed", x.reason ? x.reason.replace(/_/g, " ") : null,
          `${num(x.before)} → ${num(x.after)} tokens`, x.budget != null ? `budget ${num(x.budget)}` : null,
          x.counter ? `counted by ${x.counter}` : null),
        table([{ key: "part", title: "part", wrap: true }, { key: "kind", title: "kind" }, { key: "action", title: "action" },
          { key: "before", title: "before", num: true }, { key: "after", title: "after", num: true }], x.actions || [],
          (a, k) => (k === "before" || k === "after" ? num(a[k]) : a[k])))));
  }
  function detail(n) {
    if (!n) return h("p", { class: "muted" }, "Pick a step in the tree or the timeline.");
    return h("div", { id: "detail" }, h("h2", {}, n.path), h("p", {}, badge(n.status), " ", n.kind,
        n.agent ? ` · agent ${n.agent}` : "", n.calls.length ? ` · ${n.attempts} attempt(s)` : "", n.duration != null ? ` · ${secs(n.duration)}` : "",
        ` · ${num(n.prompt_tokens)} prompt + ${num(n.completion_tokens)} completion tokens`),
      n.error ? h("p", { class: "error" }, n.error) : null,
      n.calls.length ? table([{ key: "attempt", title: "attempt" }, { key: "agent", title: "agent" }, { key: "status", title: "status" },
        { key: "time", title: "time", num: true }, { key: "error", title: "error", wrap: true }], n.calls, (c, k) =>
        k === "time" ? (c.end != null ? secs(c.end - c.start) : "running") : k === "agent" ? `${c.agent || ""}${c.fallback ? " (fallback)" : ""}` :
        k === "status" ? badge(c.status) : c[k]) : null,
      contextBlock(n.context), valueBlock("Input", n.input), valueBlock("Output", n.output));
  }
  function pick(path) {
    picked = path;
    for (const el of document.querySelectorAll(".node.picked")) el.classList.remove("picked");
    const el = document.querySelector(`.node[data-path="${CSS.escape(path)}"]`);
    if (el) el.classList.add("picked");
    document.getElementById("detail-box").replaceChildren(detail(find(runData.tree, path)));
  }
  function drawRun(data) {
    runData = data;
    const r = data.run;
    const live = r.status === "running" ? h("span", { class: "live", id: "live" }, " ● live") : null;
    const stats = h("div", { class: "stats card" },
      h("div", {}, "status", h("b", {}, badge(r.status))), h("div", {}, "flow", h("b", {}, r.flow)),
      h("div", {}, "started", h("b", {}, when(r.created_at))), h("div", {}, "duration", h("b", {}, secs(r.duration))),
      h("div", {}, "tokens", h("b", {}, num(r.prompt_tokens + r.completion_tokens))),
      h("div", {}, "steps", h("b", { id: "step-count" }, num(data.step_count))),
      h("div", {}, "who ran it", h("b", {}, r.owner || "")), h("div", {}, "sessions", h("b", {}, r.sessions)),
      r.prefetch ? h("div", { id: "prefetch", title: `${num(r.prefetch.prefetched)} loaded ahead` +
        (r.prefetch.hit_rate != null ? `; hit rate ${Math.round(r.prefetch.hit_rate * 100)}%` : "") },
        "L4 prefetch", h("b", {}, prefetchText(r.prefetch))) : null);
    const timeline = h("div", { id: "timeline" });
    const windows = h("div", { id: "windows" });
    const events = table([{ key: "id", title: "#", num: true }, { key: "at", title: "time" }, { key: "type", title: "event" },
      { key: "path", title: "step", wrap: true }, { key: "data", title: "data", wrap: true }], data.events.slice().reverse(),
      (e, k) => k === "at" ? new Date(e.at * 1000).toLocaleTimeString() : k === "data" ? JSON.stringify(e.data).slice(0, 300) : e[k]);
    show(h("h1", {}, "Run ", r.run_id, live), stats,
      r.error ? h("p", { class: "error card" }, r.error) : null,
      h("div", { class: "grid" },
        h("div", { class: "card" }, h("h2", {}, "Steps"), h("ul", { class: "tree", id: "tree" }, treeNode(data.tree))),
        h("div", { class: "card", id: "detail-box" })),
      h("div", { class: "card" }, h("h2", {}, "Timeline"), h("p", { class: "muted" }, "One row per step on the run's time axis; one bar per attempt (a fallback's is outlined)."), timeline),
      h("div", { class: "card" }, h("h2", {}, "Token shape"), h("p", { class: "muted" }, "Tokens per context window."), windows),
      h("div", { class: "card" }, h("h2", {}, `Events (${num(data.events_total)})`),
        data.events_total > data.events.length ? h("p", { class: "muted" }, `The newest ${num(data.events.length)}; all of them: `,
          h("a", { href: `/api/runs/${enc(r.run_id)}/events?limit=10000` }, "events JSON")) : null, events));
    const byPath = new Map();
    const walk = (n) => { byPath.set(n.path, n); n.children.forEach(walk); };
    walk(data.tree);
    const rows = data.timeline.rows.map((row) => {
      const n = byPath.get(row.path);
      return { path: row.path, depth: row.depth, name: n.name, status: n.status, start: n.started_at,
               duration: n.duration, calls: n.calls };
    });
    Charts.timeline(timeline, { start: data.timeline.start, end: data.timeline.end, rows }, pick);
    if (data.windows.length) {
      Charts.bars(windows, { labels: data.windows.map((w) => w.path), series: [
        { name: "prompt", values: data.windows.map((w) => w.prompt) },
        { name: "completion", values: data.windows.map((w) => w.completion) }] });
    } else windows.appendChild(h("p", { class: "muted" }, "No context windows yet."));
    pick(picked && find(data.tree, picked) ? picked : data.tree.path);
  }
  async function runPage() {
    const url = `/api/runs/${enc(ARG)}`;
    let data = await getJSON(url);
    drawRun(data);
    if (data.run.status !== "running") return;
    let pending = null;
    const refresh = () => {
      if (pending) return;
      pending = setTimeout(async () => {
        pending = null;
        try { data = await getJSON(url); drawRun(data); } catch (e) { /* the next event retries */ }
      }, 50);
    };
    const source = new EventSource(`${url}/live?after=${data.last_event_id}&since=${data.checkpoint_at}`);
    source.addEventListener("step", refresh);
    source.addEventListener("checkpoint", refresh);
    source.addEventListener("end", () => { source.close(); refresh(); });
  }

  /* Insights */
  async function insightsPage() {
    const q = query();
    const data = await getJSON(`/api/insights?${q}`);
    const form = filterForm([{ name: "flow", label: "flow", options: data.flows, value: data.flow }, { name: "runs", label: "latest runs", placeholder: "200" }],
      (p) => { location.search = p.toString(); });
    const cards = data.insights.map((ins) => {
      const chart = h("div", { class: "chart" });
      const card = h("div", { class: "card insight", "data-name": ins.name }, h("h2", {}, ins.title), h("p", { class: "muted" }, ins.description),
        ins.rows.length ? [chart, table(ins.columns.map((c) => ({ key: c, title: c.replace(/_/g, " "), num: typeof ins.rows[0][c] === "number" })),
          ins.rows, (r, k) => (typeof r[k] === "number" ? Charts.fmt(r[k]) : r[k]))] : h("p", { class: "muted" }, "Nothing to show in these runs."));
      if (ins.chart && ins.rows.length) {
        Charts.hbars(chart, { labels: ins.rows.map((r) => r[ins.columns[0]]), values: ins.rows.map((r) => r[ins.chart] || 0) });
      }
      return card;
    });
    show(h("h1", {}, "Insights", data.flow ? `: ${data.flow}` : ""), form,
      h("p", { class: "muted" }, data.flow ? `Across the latest ${num(data.runs)} runs of ${data.flow}.` : "No runs yet."), cards);
  }

  /* Queue */
  async function queuePage() {
    const q = query();
    const data = await getJSON(`/api/queue?${q}`);
    const chips = h("p", { class: "chips" }, data.statuses.map((s) =>
      h("a", { href: `?status=${s}` }, badge(s), ` ${num(data.counts[s] || 0)}`)));
    const form = filterForm([{ name: "status", label: "status", options: data.statuses }, { name: "category", label: "category" },
      { name: "agent_type", label: "agent type" }, { name: "q", label: "title contains" }], (p) => { location.search = p.toString(); });
    const tasks = table([{ key: "task_id", title: "task" }, { key: "title", title: "title" }, { key: "status", title: "status" },
      { key: "priority", title: "priority", num: true }, { key: "category", title: "category" }, { key: "agent_type", title: "agent" },
      { key: "created_at", title: "created" }, { key: "retry_count", title: "retries", num: true }], data.tasks,
      (t, k) => k === "task_id" ? h("a", { href: `/queue/${enc(t.task_id)}` }, t.task_id) : k === "status" ? badge(t.status) : t[k]);
    const workers = table([{ key: "worker", title: "worker" }, { key: "host", title: "host" }, { key: "tasks", title: "tasks", num: true },
      { key: "last_heartbeat", title: "last heartbeat" }, { key: "alive", title: "lease" }], data.workers,
      (w, k) => k === "alive" ? (w.alive ? "alive" : "expired") : w[k]);
    const chart = h("div", { id: "throughput" });
    const pager = h("div", { class: "pager" });
    if (data.next) { const n = query(); n.set("cursor", data.next); pager.appendChild(h("a", { href: `?${n}` }, "Older tasks →")); }
    show(h("h1", {}, "Queue"), chips, form, h("div", { class: "card" }, tasks, pager),
      h("div", { class: "card" }, h("h2", {}, "Workers"), data.workers.length ? workers : h("p", { class: "muted" }, "No worker holds a task.")),
      h("div", { class: "card" }, h("h2", {}, "Throughput (finished tasks per hour)"), chart));
    Charts.bars(chart, { labels: data.throughput.map((t) => t.hour.slice(11)), series: [
      { name: "completed", values: data.throughput.map((t) => t.completed) },
      { name: "failed", values: data.throughput.map((t) => t.failed) }] });
  }
  async function taskPage() {
    const data = await getJSON(`/api/queue/${enc(ARG)}`);
    const t = data.task;
    show(h("h1", {}, "Task ", t.task_id), h("div", { class: "card" }, h("p", {}, badge(t.status), " ", t.title),
      t.error_message ? h("p", { class: "error" }, t.error_message) : null,
      h("p", { class: "muted" }, `category ${t.category || "-"} · agent ${t.agent_type || "-"} · priority ${t.priority} · retries ${t.retry_count}`)),
      h("div", { class: "card" }, h("h2", {}, "History"), table([{ key: "at", title: "when" }, { key: "from", title: "from" },
        { key: "to", title: "to" }, { key: "actor", title: "who" }, { key: "reason", title: "why" }], data.history, (r, k) => r[k])));
  }

  /* Learning */
  async function learningPage() {
    const data = await getJSON(`/api/learning?${query()}`);
    const chart = h("div", { id: "curve" });
    const sections = Object.entries(data.categories).map(([cat, actors]) => h("div", { class: "card" }, h("h2", {}, cat),
      table(["actor", "attempts", "successes", "success_rate", "mean_reward", "tokens_per_attempt", "seconds_per_attempt"].map((c) =>
        ({ key: c, title: c.replace(/_/g, " "), num: c !== "actor" })), actors, (a, k) => (typeof a[k] === "number" ? Charts.fmt(a[k]) : a[k]))));
    show(h("h1", {}, "Learning"), h("div", { class: "card" }, h("h2", {}, "Learning curve"),
      h("p", { class: "muted" }, `Actors tried per routed run (mean of the last ${data.window}); falling means the router learned.`), chart),
      sections.length ? sections : h("p", { class: "muted" }, "No learning recorded yet."));
    if (data.curve.length) {
      Charts.line(chart, { series: [{ name: "mean tries", values: data.curve.map((c) => c.mean_tries) },
        { name: "first-try rate", values: data.curve.map((c) => c.first_try_rate) }] });
    } else chart.appendChild(h("p", { class: "muted" }, "No routed runs yet."));
  }

  /* Memory */
  async function memoryPage() {
    const data = await getJSON(`/api/memory?${query()}`);
    const form = filterForm([{ name: "q", label: "search memories" }], (p) => { location.search = p.toString(); });
    const list = (items) => table([{ key: "scope", title: "scope" }, { key: "level", title: "level" }, { key: "text", title: "memory" },
      { key: "sources", title: "sources", num: true }, { key: "salience", title: "salience", num: true }, { key: "created_at", title: "created" }], items,
      (m, k) => k === "created_at" ? when(m.created_at) : k === "text" ? [m.text, m.source_texts.length ?
        h("ul", {}, m.source_texts.map((s) => h("li", { class: "muted" }, s))) : null] : k === "salience" ? Charts.fmt(m.salience) : m[k]);
    show(h("h1", {}, "Memory"), form,
      data.q != null ? h("div", { class: "card" }, h("h2", {}, `Matches for “${data.q}”`), data.hits.length ? list(data.hits) : h("p", { class: "muted" }, "No match.")) : null,
      h("div", { class: "card" }, h("h2", {}, "Recent consolidations"), data.consolidations.length ? list(data.consolidations) : h("p", { class: "muted" }, "None yet.")),
      h("div", { class: "card" }, h("h2", {}, "Memories by scope and level"), table([{ key: "scope", title: "scope" }, { key: "level", title: "level" },
        { key: "count", title: "count", num: true }], data.levels, (r, k) => r[k])));
  }

  const pages = { runs: runsPage, run: runPage, insights: insightsPage, queue: queuePage, task: taskPage,
                  learning: learningPage, memory: memoryPage };
  (pages[PAGE] || runsPage)().catch(fail);
})();
