// Ward console: a small script over the /console/api routes. Every piece
// of data is inserted as text (never as HTML): subjects, issuers and
// names come from callers and must not run as markup.
"use strict";
(function () {
  const $ = (s, r) => (r || document).querySelector(s);
  const el = (tag, attrs, ...kids) => {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on")) n.addEventListener(k.slice(2), v);
      else if (k === "class") n.className = v;
      // The CSP (style-src 'self') refuses style attributes: style with
      // classes in app.css.
      else if (k === "style") throw new Error("el: no style attribute under the console's CSP; use a class");
      else n.setAttribute(k, v === true ? "" : v);
    }
    for (const c of kids.flat()) if (c !== null && c !== undefined && c !== false) n.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return n;
  };
  const SVG = "http://www.w3.org/2000/svg";
  const sv = (tag, attrs, ...kids) => {
    const n = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) n.setAttribute(k, v);
    for (const c of kids) n.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return n;
  };
  let me = null;
  const state = { graph: null, graphGen: 0, explorerLoad: null, explorerGen: 0, explorerWaiters: [], hidden: new Set(), es: null, selected: null };

  // ---- API ----
  async function api(path, opts) {
    opts = opts || {};
    const headers = { Accept: "application/json" };
    if (opts.body) headers["Content-Type"] = "application/json";
    if (opts.method && opts.method !== "GET" && me && me.csrfToken) headers["X-Ward-CSRF"] = me.csrfToken;
    const r = await fetch(path, { method: opts.method || "GET", headers, body: opts.body ? JSON.stringify(opts.body) : undefined, credentials: "same-origin" });
    const text = await r.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = { error: { message: text } }; }
    if (!r.ok) { const err = new Error((data && data.error && data.error.message) || r.statusText); err.status = r.status; err.code = data && data.error && data.error.code; throw err; }
    return data;
  }
  function toast(msg) { const t = $("#toast"); t.textContent = msg; t.classList.add("show"); clearTimeout(toast.t); toast.t = setTimeout(() => t.classList.remove("show"), 3200); }

  // ---- theme ----
  function applyTheme(t) { document.documentElement.dataset.theme = t; try { localStorage.setItem("ward-theme", t); } catch (e) { /* private mode */ } }
  let theme = null;
  try { theme = localStorage.getItem("ward-theme"); } catch (e) { /* private mode */ }
  applyTheme(theme || (window.matchMedia && matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light"));

  // ---- routing ----
  const views = { graph: viewGraph, explorer: viewExplorer, signins: viewSignIns, activity: viewActivity, check: viewCheck, policy: viewPolicy };
  function route() {
    const [name, qs] = (location.hash.slice(1) || "graph").split("?");
    const params = new URLSearchParams(qs || "");
    const fn = views[name] || viewGraph;
    for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.view === (views[name] ? name : "graph"));
    if (state.es && name !== "signins") { state.es.close(); state.es = null; }
    closeDrawer();
    const v = $("#view");
    v.replaceChildren();
    v.hidden = false;
    fn(v, params);
  }
  function go(view, params) { const q = new URLSearchParams(params || {}).toString(); location.hash = view + (q ? "?" + q : ""); }

  // ---- drawer ----
  function openDrawer(title, ...body) {
    $("#drawer-title").textContent = title;
    $("#drawer-body").replaceChildren(...body);
    $("#drawer").hidden = false;
  }
  function closeDrawer() { $("#drawer").hidden = true; state.selected = null; document.querySelectorAll("svg.graph .node.sel").forEach(n => n.classList.remove("sel")); }
  function props(obj) {
    const dl = el("dl", { class: "props" });
    for (const [k, v] of Object.entries(obj || {})) if (v !== "" && v !== undefined) dl.append(el("dt", {}, k), el("dd", {}, v));
    return dl;
  }
  function cli(cmd) {
    if (!cmd) return null;
    return el("div", {}, el("div", { class: "msg" }, "Equivalent command"),
      el("div", { class: "cli" }, el("pre", {}, cmd), el("button", { title: "Copy", onclick: () => { navigator.clipboard && navigator.clipboard.writeText(cmd); toast("Copied"); } }, "Copy")));
  }

  // ---- access graph ----
  const KINDS = [
    ["cluster", "Cluster", "--k-cluster"], ["issuer", "Issuer", "--k-issuer"], ["subject", "Service account", "--k-subject"],
    ["federatedCredential", "Federated credential", "--k-fic"], ["identity", "Identity", "--k-identity"], ["servicePrincipal", "Identity", "--k-sp"],
    ["roleAssignment", "Role assignment", "--k-assign"], ["scope", "Scope", "--k-scope"], ["vault", "Resource", "--k-vault"]];
  const COL = { cluster: 0, issuer: 1, subject: 2, federatedCredential: 3, identity: 4, servicePrincipal: 4, roleAssignment: 5, scope: 6, vault: 7 };
  const TITLES = ["Cluster", "Issuer", "Service account", "Federated credential", "Identity", "Role assignment", "Scope", "Resource"];

  async function viewGraph(v, params) {
    const start = params.get("start") || "";
    const q = params.get("q") || "";
    const limit = params.get("limit") || "200";
    v.append(el("h1", { class: "view-title" }, "Access graph"),
      el("p", { class: "sub" }, "Who can reach what: cluster → issuer → service account → federated credential → identity → role assignment → scope → resource. Click a box for details; ", el("kbd", {}, "/"), " searches."));
    const startIn = el("input", { class: "grow", id: "g-start", list: "g-starts", placeholder: "Start: all, or a subscription, group, identity, cluster, vault ID, or subject:system:serviceaccount:ns:name", value: start, "aria-label": "Starting point" });
    const qIn = el("input", { id: "g-q", type: "search", placeholder: "Search identities, subjects, roles…", value: q, "aria-label": "Search" });
    const lim = el("select", { id: "g-limit", "aria-label": "Identities shown" }, ["50", "200", "1000", "5000"].map(n => el("option", { value: n, selected: n === limit }, n + " identities")));
    const dl = el("datalist", { id: "g-starts" });
    const apply = () => go("graph", Object.fromEntries(Object.entries({ start: startIn.value.trim(), q: qIn.value.trim(), limit: lim.value }).filter(([, x]) => x)));
    startIn.addEventListener("change", apply);
    qIn.addEventListener("keydown", e => { if (e.key === "Enter") apply(); });
    lim.addEventListener("change", apply);
    const chips = el("div", { class: "chips", "aria-label": "Show or collapse kinds" }, KINDS.filter(k => k[0] !== "servicePrincipal").map(([k, label]) => {
      const cb = el("input", { type: "checkbox", checked: !state.hidden.has(k), "data-kind": k });
      cb.addEventListener("change", () => { cb.checked ? state.hidden.delete(k) : state.hidden.add(k); draw(); });
      return el("label", { class: "chip", title: "Show or collapse " + label.toLowerCase() + " boxes" }, cb, el("span", { class: "dot kind-" + k }), label);
    }));
    const stat = el("span", { class: "stat", id: "g-stat" }, "Loading…");
    v.append(el("div", { class: "toolbar" }, startIn, qIn, lim, el("button", { class: "primary", onclick: apply }, "Show"), dl),
      el("div", { class: "toolbar" }, chips, stat));
    const wrap = el("div", { class: "graph-wrap", id: "graph" });
    v.append(wrap, el("div", { class: "legend" }, el("span", {}, el("span", { class: "inh" }), " inherited: the assignment applies through a scope above the resource"), el("span", {}, "Unticking a kind collapses its boxes into the edges around them.")));
    loadExplorer().then(ex => {
      const opts = [["", "everything I can read"]].concat(ex.subscriptions.map(o => [o.id, "subscription " + o.name]), ex.resourceGroups.map(o => [o.id, "group " + o.name]),
        ex.clusters.map(o => [o.id, "cluster " + o.name]), ex.vaults.map(o => [o.id, "vault " + o.name]), ex.identities.slice(0, 500).map(o => [o.id, "identity " + o.name]));
      dl.replaceChildren(...opts.map(([val, label]) => el("option", { value: val }, label)));
    }).catch(() => {});
    // The graph comes in pages of at most $top identities: the first is
    // drawn at once, and the rest follow (each page's nextLink) until limit
    // identities are shown, each drawn as it arrives. A newer graph view
    // stops an older one's loading.
    const gen = ++state.graphGen;
    const query = { start, q, limit };
    if (params.get("top")) query.$top = params.get("top");
    let page;
    try {
      page = await api("/console/api/graph?" + new URLSearchParams(query).toString());
    } catch (e) { wrap.replaceChildren(el("div", { class: "empty" }, e.message)); stat.textContent = ""; return; }
    if (gen !== state.graphGen) return;
    state.graph = Object.assign(page, { pages: 1 });
    draw();
    const sel = params.get("node");
    if (sel) { const n = state.graph.nodes.find(x => x.id === sel); if (n) showNode(n); }
    while (state.graph.nextLink && gen === state.graphGen) {
      try {
        page = await api(state.graph.nextLink);
      } catch (e) { stat.textContent += " · the next page failed: " + e.message; return; }
      if (gen !== state.graphGen) return;
      mergeGraph(state.graph, page);
      draw();
      if (state.selected) document.querySelectorAll("svg.graph .node").forEach(x => x.classList.toggle("sel", x.dataset.id === state.selected));
    }
  }

  // mergeGraph adds a page to the graph drawn so far: a box or an edge two
  // pages share (a scope, an issuer) is kept once.
  function mergeGraph(g, p) {
    const nodes = new Set(g.nodes.map(n => n.id)), edges = new Set(g.edges.map(e => e.from + ">" + e.to));
    for (const n of p.nodes) if (!nodes.has(n.id)) { nodes.add(n.id); g.nodes.push(n); }
    for (const e of p.edges) { const k = e.from + ">" + e.to; if (!edges.has(k)) { edges.add(k); g.edges.push(e); } }
    g.identities += p.identities;
    g.shown += p.shown;
    g.nextLink = p.nextLink;
    g.pages++;
  }

  // collapse removes hidden kinds, bridging their edges.
  function collapsed(g) {
    const hidden = id => state.hidden.has(kindOf.get(id));
    const kindOf = new Map(g.nodes.map(n => [n.id, n.kind === "servicePrincipal" ? "identity" : n.kind]));
    const nodes = g.nodes.filter(n => !hidden(n.id));
    const out = new Map();
    for (const e of g.edges) { if (!out.has(e.from)) out.set(e.from, []); out.get(e.from).push(e); }
    const edges = [], seen = new Set();
    for (const e of g.edges) {
      if (hidden(e.from)) continue;
      const stack = [[e, e.label, e.inherited]];
      const visited = new Set();
      while (stack.length) {
        const [x, label, inh] = stack.pop();
        if (!hidden(x.to)) { const k = e.from + ">" + x.to; if (!seen.has(k)) { seen.add(k); edges.push({ from: e.from, to: x.to, label, inherited: inh }); } continue; }
        if (visited.has(x.to)) continue;
        visited.add(x.to);
        for (const y of out.get(x.to) || []) stack.push([y, label === y.label ? label : "…", inh || y.inherited]);
      }
    }
    return { nodes, edges };
  }

  function draw() {
    const g = state.graph, wrap = $("#graph"), stat = $("#g-stat");
    if (!g || !wrap) return;
    stat.textContent = g.shown === 0 && !g.nextLink ? "" : "Showing " + g.shown + " identities · " + g.nodes.length + " boxes · " + g.pages + (g.pages === 1 ? " page" : " pages") + (g.nextLink ? " · loading more…" : "");
    stat.dataset.pages = g.pages;
    stat.dataset.done = g.nextLink ? "" : "1";
    if (g.nodes.length === 0) { wrap.replaceChildren(el("div", { class: "empty" }, g.nextLink ? "Looking further…" : "Nothing to show: no object you may read matches this starting point.")); return; }
    const { nodes, edges } = collapsed(g);
    const W = 172, H = 42, GX = 48, GY = 12, TOP = 34, LEFT = 16;
    const cols = [];
    for (const n of nodes) { const c = COL[n.kind]; (cols[c] = cols[c] || []).push(n); }
    const used = cols.map((c, i) => c ? i : -1).filter(i => i >= 0);
    const xOf = new Map(used.map((c, i) => [c, LEFT + i * (W + GX)]));
    const pos = new Map();
    const place = () => { for (const c of used) cols[c].forEach((n, i) => pos.set(n.id, { x: xOf.get(c), y: TOP + i * (H + GY), n })); };
    place();
    // Order each column by the mean position of its neighbours (two sweeps), to untangle edges.
    const nb = new Map();
    for (const e of edges) { (nb.get(e.to) || nb.set(e.to, []).get(e.to)).push(e.from); (nb.get(e.from) || nb.set(e.from, []).get(e.from)).push(e.to); }
    for (let pass = 0; pass < 4; pass++) {
      const order = pass % 2 === 0 ? used : used.slice().reverse();
      for (const c of order) {
        const key = n => { const ns = (nb.get(n.id) || []).map(id => pos.get(id)).filter(Boolean).map(p => p.y); return ns.length ? ns.reduce((a, b) => a + b, 0) / ns.length : pos.get(n.id).y; };
        const keys = new Map(cols[c].map(n => [n.id, key(n)]));
        cols[c].sort((a, b) => keys.get(a.id) - keys.get(b.id));
        cols[c].forEach((n, i) => pos.set(n.id, { x: xOf.get(c), y: TOP + i * (H + GY), n }));
      }
    }
    const maxRows = Math.max(...used.map(c => cols[c].length));
    const width = LEFT * 2 + used.length * W + (used.length - 1) * GX, height = TOP + maxRows * (H + GY) + 10;
    // Fit wide graphs to the window, down to 70 %; beyond that, scroll.
    const scale = Math.min(1, Math.max(0.7, (wrap.clientWidth - 4) / width));
    const svg = sv("svg", { class: "graph", width: Math.round(width * scale), height: Math.round(height * scale), viewBox: "0 0 " + width + " " + height, role: "img", "aria-label": "Access graph" });
    for (const c of used) svg.append(sv("text", { class: "col-title", x: xOf.get(c) + 2, y: 18 }, TITLES[c] + " · " + cols[c].length));
    const showLabels = true;
    const eg = sv("g", {}), ng = sv("g", {});
    svg.append(eg, ng);
    const edgeEls = [];
    for (const e of edges) {
      const a = pos.get(e.from), b = pos.get(e.to);
      if (!a || !b) continue;
      let x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2;
      if (b.x <= a.x) { x1 = a.x + W; x2 = b.x + W; }
      const dx = Math.max(40, Math.abs(x2 - x1) / 2);
      const d = b.x <= a.x ? `M${x1},${y1} C${x1 + 50},${y1} ${x2 + 50},${y2} ${x2},${y2}` : `M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2},${y2}`;
      const p = sv("path", { class: "e" + (e.inherited ? " inh" : ""), d, "data-from": e.from, "data-to": e.to });
      p.append(sv("title", {}, e.label || ""));
      eg.append(p);
      edgeEls.push(p);
      if (showLabels && e.label) {
        // Labels show for the edges of the hovered or selected box (inherited ones always).
        const t = sv("text", { class: "el" + (e.inherited ? " inh" : ""), x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 3, "text-anchor": "middle", "data-from": e.from, "data-to": e.to }, trunc(e.label, 34));
        eg.append(t);
        edgeEls.push(t);
      }
    }
    for (const [id, p] of pos) {
      const n = p.n;
      const g2 = sv("g", { class: "node kind-" + n.kind, transform: `translate(${p.x},${p.y})`, tabindex: "0", role: "button", "data-id": id, "data-kind": n.kind, "aria-label": n.kind + " " + n.label });
      g2.append(sv("rect", { width: W, height: H, rx: 8 }), sv("rect", { class: "bar", width: 5, height: H, rx: 2 }),
        sv("text", { class: "l", x: 14, y: 18 }, trunc(n.label, 23)), sv("text", { class: "s", x: 14, y: 33 }, trunc(n.sub || n.kind, 27)));
      g2.append(sv("title", {}, n.label));
      g2.addEventListener("click", () => showNode(n));
      g2.addEventListener("keydown", ev => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); showNode(n); } });
      g2.addEventListener("mouseenter", () => highlight(id, edgeEls, true));
      g2.addEventListener("mouseleave", () => highlight(id, edgeEls, false));
      ng.append(g2);
    }
    wrap.replaceChildren(svg);
  }
  function highlight(id, edgeEls, on) {
    const sel = state.selected;
    for (const p of edgeEls) {
      const touches = x => x && (p.dataset.from === x || p.dataset.to === x);
      p.classList.toggle("hot", (on && touches(id)) || touches(sel));
    }
  }
  function trunc(s, n) { s = String(s); return s.length > n ? s.slice(0, n - 1) + "…" : s; }

  function showNode(n) {
    state.selected = n.id;
    document.querySelectorAll("svg.graph .node").forEach(x => x.classList.toggle("sel", x.dataset.id === n.id));
    document.querySelectorAll("svg.graph path.e, svg.graph text.el").forEach(p => p.classList.toggle("hot", p.dataset.from === n.id || p.dataset.to === n.id));
    const g = state.graph;
    const byId = new Map(g.nodes.map(x => [x.id, x]));
    const rel = el("div", { class: "related" });
    for (const e of g.edges) {
      const other = e.from === n.id ? e.to : e.to === n.id ? e.from : null;
      if (!other || !byId.has(other)) continue;
      const o = byId.get(other);
      rel.append(el("a", { href: "#", "data-node": o.id, onclick: ev => { ev.preventDefault(); showNode(o); } },
        (e.from === n.id ? "→ " : "← ") + (e.label ? e.label + ": " : "") + o.label + " (" + kindLabel(o.kind) + ")" + (e.inherited ? " · inherited" : "")));
    }
    const actions = el("div", { class: "actions" });
    const startable = { cluster: 1, identity: 1, vault: 1, scope: 1, subject: 1 };
    if (startable[n.kind]) {
      const s = n.kind === "subject" ? "subject:" + n.props.subject : (n.props.id || n.props.scope);
      actions.append(el("button", { class: "primary", onclick: () => go("graph", { start: s }) }, "Graph from here"));
    }
    if (n.kind === "identity" || n.kind === "servicePrincipal") {
      actions.append(el("button", { onclick: () => go("check", { principal: n.props.principalId || n.props.objectId }) }, "Can it do…?"));
    }
    openDrawer(n.label, el("span", { class: "badge kind" }, kindLabel(n.kind)), props(n.props), cli(n.cli), actions,
      rel.childNodes.length ? el("h3", {}, "Linked") : null, rel);
  }
  function kindLabel(k) { return ({ federatedCredential: "federated credential", roleAssignment: "role assignment", servicePrincipal: "service principal", subject: "service account / subject" })[k] || k; }

  // ---- explorer ----
  // The explorer comes in pages: the first holds the subscriptions, groups,
  // clusters, vaults, roles and service principals and the first identities;
  // the rest hold further identities with their credentials and assignments.
  // loadExplorer resolves with the first page and keeps following nextLink,
  // merging each page into the same object and calling onPage after each;
  // ex.done is set after the last. A newer load stops an older one. top
  // ($top, the identities a page holds) is the server's default unless the
  // view's address asks (#explorer?top=1 shows the paging with few objects).
  function loadExplorer(force, onPage, top) {
    if (state.explorerLoad && !force) { if (onPage) state.explorerWaiters.push(onPage); return state.explorerLoad; }
    const gen = ++state.explorerGen;
    state.explorerWaiters = onPage ? [onPage] : [];
    const tell = ex => { if (gen === state.explorerGen) state.explorerWaiters.forEach(f => f(ex)); };
    state.explorerLoad = api("/console/api/explorer" + (top ? "?" + new URLSearchParams({ $top: top }).toString() : "")).then(ex => {
      ex.done = !ex.nextLink;
      ex.pages = 1;
      (async () => {
        while (ex.nextLink && gen === state.explorerGen) {
          let p;
          try { p = await api(ex.nextLink); } catch (e) { ex.failed = e.message; ex.nextLink = ""; break; }
          if (gen !== state.explorerGen) return;
          for (const [k] of SECTIONS) ex[k].push(...p[k]);
          ex.pages++;
          ex.nextLink = p.nextLink || "";
          ex.done = !ex.nextLink;
          tell(ex);
        }
        if (!ex.done) { ex.done = true; tell(ex); }
      })();
      return ex;
    });
    state.explorerLoad.catch(() => { if (gen === state.explorerGen) state.explorerLoad = null; });
    return state.explorerLoad;
  }
  const SECTIONS = [["subscriptions", "Subscriptions"], ["resourceGroups", "Resource groups"], ["identities", "Identities"], ["clusters", "Clusters"],
    ["servicePrincipals", "Service principals"], ["vaults", "Vaults"], ["roleDefinitions", "Role definitions"], ["roleAssignments", "Role assignments"]];
  async function viewExplorer(v, params) {
    v.append(el("h1", { class: "view-title" }, "Explorer"), el("p", { class: "sub" }, "Everything you may read, with links between objects and the ward command for each. Secret values are never shown."));
    const q = el("input", { type: "search", class: "grow", id: "x-q", placeholder: "Filter by name, ID, issuer, subject, scope…", value: params.get("q") || "", "aria-label": "Filter" });
    v.append(el("div", { class: "toolbar" }, q));
    const body = el("div", { class: "explorer" }, el("div", { class: "empty" }, "Loading…"));
    v.append(body);
    const section = params.get("s") || "identities";
    const open = params.get("id");
    let ex, opened = false;
    const more = () => {
      if (!ex || !body.isConnected) return;
      render();
      if (open && !opened) { const o = findObj(ex, open); if (o) { opened = true; showObj(o, ex); } }
    };
    const render = () => {
      const f = q.value.trim().toLowerCase();
      const match = o => !f || JSON.stringify(o).toLowerCase().includes(f);
      const side = el("div", { class: "side", role: "tablist" }, SECTIONS.map(([k, label]) =>
        el("a", { href: "#explorer?" + new URLSearchParams({ s: k, q: q.value }).toString(), class: k === section ? "active" : "", role: "tab" }, el("span", {}, label), el("span", { class: "muted" }, ex[k].filter(match).length))));
      const items = ex[section].filter(match);
      const content = el("div", {}, el("h2", {}, SECTIONS.find(s => s[0] === section)[1]), tableFor(section, items, ex),
        ex.done ? (ex.failed ? el("div", { class: "empty" }, "The next page failed: " + ex.failed) : null) : el("div", { class: "empty", id: "x-more" }, "Loading more…"));
      body.dataset.done = ex.done ? "1" : "";
      body.dataset.pages = ex.pages;
      body.replaceChildren(side, content);
    };
    q.addEventListener("input", render);
    try { ex = await loadExplorer(true, more, params.get("top")); } catch (e) { body.replaceChildren(el("div", { class: "empty" }, e.message)); return; }
    more();
  }
  function findObj(ex, id) {
    id = id.toLowerCase();
    for (const [k] of SECTIONS) for (const o of ex[k]) {
      if (o.id.toLowerCase() === id) return o;
      for (const c of o.children || []) if (c.id.toLowerCase() === id) return c;
    }
    return null;
  }
  function tableFor(section, items, ex) {
    if (!items.length) return el("div", { class: "table-wrap" }, el("div", { class: "empty" }, "Nothing here that you may read."));
    const key = { identities: ["clientId", "principalId"], clusters: ["issuer"], servicePrincipals: ["appId"], vaults: ["location"], subscriptions: ["subscriptionId"],
      resourceGroups: ["location"], roleDefinitions: ["type"], roleAssignments: ["principal", "scope"] }[section] || [];
    const rows = [];
    for (const o of items.slice(0, 1000)) {
      rows.push(el("tr", { class: "row", tabindex: "0", "data-id": o.id, onclick: () => showObj(o, ex), onkeydown: e => { if (e.key === "Enter") showObj(o, ex); } },
        el("td", {}, el("b", {}, o.name || o.id), o.resourceGroup ? el("div", { class: "cell-sub" }, o.resourceGroup) : null),
        key.map(k => el("td", { class: "mono" }, (o.props || {})[k] || "")),
        el("td", { class: "hide-narrow" }, o.children ? el("span", { class: "badge kind" }, o.children.length + " federated credential" + (o.children.length === 1 ? "" : "s")) : null)));
    }
    return el("div", { class: "table-wrap" }, el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "Name"), key.map(k => el("th", {}, k)), el("th", { class: "hide-narrow" }, ""))), el("tbody", {}, rows)),
      items.length > 1000 ? el("div", { class: "empty" }, "Showing 1,000 of " + items.length + ": filter to narrow.") : null);
  }
  function showObj(o, ex) {
    const links = el("div", { class: "related" });
    for (const l of o.links || []) {
      const t = findObj(ex, l.id);
      links.append(t ? el("a", { href: "#", onclick: e => { e.preventDefault(); showObj(t, ex); } }, l.label + ": " + (t.name || t.id)) : el("div", { class: "muted" }, l.label + ": " + l.id));
    }
    const kids = el("div", {});
    for (const c of o.children || []) kids.append(el("div", { class: "panel child" }, el("a", { href: "#", onclick: e => { e.preventDefault(); showObj(c, ex); } }, el("b", {}, c.name)), props(c.props)));
    const assigned = ex.roleAssignments.filter(a => (a.links || []).some(l => l.id.toLowerCase() === o.id.toLowerCase()));
    const roles = el("div", {});
    for (const a of assigned) roles.append(el("a", { href: "#", class: "block", onclick: e => { e.preventDefault(); showObj(a, ex); } }, a.name + " at " + a.props.scope));
    const actions = el("div", { class: "actions" });
    if (["identity", "cluster", "vault", "resourceGroup", "subscription"].includes(o.kind)) actions.append(el("button", { class: "primary", onclick: () => go("graph", { start: o.id }) }, "Access graph"));
    if (o.kind === "identity") actions.append(el("button", { onclick: () => go("check", { principal: o.props.principalId }) }, "Can it do…?"));
    if (o.kind === "servicePrincipal") actions.append(el("button", { onclick: () => go("check", { principal: o.props.objectId }) }, "Can it do…?"));
    openDrawer(o.name || o.id, el("span", { class: "badge kind" }, kindLabel(o.kind)), el("div", { class: "mono muted obj-id" }, o.id),
      props(o.props), cli(o.cli), actions,
      (o.children || []).length ? el("h3", {}, "Federated credentials") : null, kids,
      assigned.length ? el("h3", {}, "Role assignments") : null, roles,
      (o.links || []).length ? el("h3", {}, "Linked") : null, links);
  }

  // ---- sign-ins ----
  function viewSignIns(v, params) {
    v.append(el("h1", { class: "view-title" }, "Sign-ins"), el("p", { class: "sub" }, "Every token issued or refused, live. A refused federated exchange says what would have matched, and offers to create the credential."));
    if (!me.canReadSignIns) { v.append(el("div", { class: "panel" }, "The sign-in log needs Microsoft.Directory/auditLogs/read at '/' (Reports Reader, Application Administrator or Owner), which you do not hold.")); return; }
    const f = {
      result: el("select", { id: "s-result", "aria-label": "Result" }, [["", "Any result"], ["success", "Issued"], ["failure", "Refused"]].map(([val, l]) => el("option", { value: val, selected: params.get("result") === val }, l))),
      code: el("input", { id: "s-code", placeholder: "AADSTS code", value: params.get("code") || "", size: 12, "aria-label": "AADSTS code" }),
      identity: el("input", { id: "s-identity", placeholder: "Identity or client ID", value: params.get("identity") || "", "aria-label": "Identity" }),
      issuer: el("input", { id: "s-issuer", placeholder: "Issuer", value: params.get("issuer") || "", "aria-label": "Issuer" }),
      since: el("select", { id: "s-since", "aria-label": "Since" }, [["15m", "Last 15 minutes"], ["1h", "Last hour"], ["24h", "Last 24 hours"], ["168h", "Last 7 days"], ["720h", "Last 30 days"]].map(([val, l]) => el("option", { value: val, selected: (params.get("since") || "24h") === val }, l))),
    };
    const live = el("span", { class: "live", id: "s-live" }, el("span", { class: "pulse" }), "connecting");
    const apply = () => go("signins", Object.fromEntries(Object.entries(f).map(([k, i]) => [k, i.value.trim()]).filter(([, x]) => x)));
    for (const i of Object.values(f)) { i.addEventListener("change", apply); i.addEventListener("keydown", e => { if (e.key === "Enter") apply(); }); }
    v.append(el("div", { class: "toolbar" }, f.result, f.code, f.identity, f.issuer, f.since, live));
    const tbody = el("tbody", { id: "s-rows" });
    v.append(el("div", { class: "table-wrap" }, el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "Time"), el("th", {}, "Result"), el("th", {}, "Client / identity"), el("th", { class: "hide-narrow" }, "Credential"), el("th", {}, "Reason"))), tbody)));
    const q = new URLSearchParams(Object.fromEntries(Object.entries(f).map(([k, i]) => [k, i.value.trim()]).filter(([, x]) => x))).toString();
    const rows = new Map();
    const put = (s, fresh) => {
      const tr = row(s);
      if (fresh) tr.classList.add("fresh");
      const old = rows.get(s.id);
      if (old) old.replaceWith(tr); else if (fresh) tbody.prepend(tr); else tbody.append(tr);
      rows.set(s.id, tr);
    };
    api("/console/api/signins?" + q).then(d => {
      if (!d.value.length) tbody.append(el("tr", { class: "none" }, el("td", { colspan: 5, class: "empty" }, "No sign-ins match. New ones appear here as they happen.")));
      for (const s of d.value) put(s, false);
    }).catch(e => tbody.append(el("tr", {}, el("td", { colspan: 5, class: "empty" }, e.message))));
    if (window.EventSource) {
      const es = new EventSource("/console/api/signins/stream?" + q);
      state.es = es;
      es.onopen = () => { live.classList.add("on"); live.lastChild.textContent = "live"; };
      es.onerror = () => { live.classList.remove("on"); live.lastChild.textContent = "reconnecting"; };
      es.addEventListener("signin", ev => { const none = tbody.querySelector("tr.none"); if (none) none.remove(); put(JSON.parse(ev.data), true); });
    }
  }
  function row(s) {
    const ok = s.result === "success";
    const tr = el("tr", { class: "row", tabindex: "0", "data-id": s.id, "data-result": s.result },
      el("td", { class: "mono" }, fmtTime(s.time), s.count > 1 ? el("div", { class: "cell-sub" }, "×" + s.count + ", last " + fmtTime(s.lastSeen)) : null),
      el("td", {}, el("span", { class: "badge " + (ok ? "ok" : "bad") }, ok ? "Issued" : "AADSTS" + s.errorCode)),
      el("td", {}, el("div", { class: "mono" }, s.clientId), s.identity ? el("div", { class: "cell-sub" }, lastSeg(s.identity)) : null),
      el("td", { class: "hide-narrow" }, s.credential || "", s.subject ? el("div", { class: "cell-sub mono" }, s.subject) : null),
      el("td", {}, s.explanation ? el("div", {}, s.explanation.replace(/^Ward: /, "")) : el("div", { class: "msg" }, trunc(s.message || "", 160)),
        s.fix ? el("span", { class: "badge warn" }, "fix available") : null));
    const open = () => showSignIn(s, tr);
    tr.addEventListener("click", open);
    tr.addEventListener("keydown", e => { if (e.key === "Enter") open(); });
    return tr;
  }
  function lastSeg(id) { return id.slice(id.lastIndexOf("/") + 1); }
  function fmtTime(t) { const d = new Date(t); return isNaN(d) ? t : d.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" }); }
  function showSignIn(s, tr) {
    const body = [el("span", { class: "badge " + (s.result === "success" ? "ok" : "bad") }, s.result === "success" ? "Issued" : "Refused · AADSTS" + s.errorCode)];
    const details = [props({ time: s.time, "last seen": s.lastSeen, count: s.count, client: s.clientId, identity: s.identity, principal: s.principal, credential: s.credential, resource: s.resource, issuer: s.issuer, subject: s.subject, source: s.source })];
    if (s.message) details.push(el("div", { class: "msg" }, s.message));
    if (s.subject && !s.verified) details.push(el("div", { class: "msg", id: "unverified" }, "No key of an issuer this identity trusts verified this assertion: its issuer and subject are what the caller wrote, so no fix is offered."));
    if (s.explanation) body.push(el("div", { class: "explain" }, el("b", {}, "What would have matched"), s.explanation.replace(/^Ward: /, "")));
    if (s.fix) {
      const f = s.fix;
      body.push(el("h3", {}, "Fix"), el("p", {}, "Create the federated credential that would have matched this exchange:"),
        props({ identity: lastSeg(f.identity), name: f.name, subject: f.subject, audiences: f.audiences.join(", ") }));
      const btn = el("button", { class: "primary", id: "fix", disabled: !f.canApply, onclick: () => confirmFix(f, tr) }, "Create the federated credential that would have matched");
      body.push(el("div", { class: "actions" }, btn), cli(f.cli));
      if (!f.canApply) body.push(el("div", { class: "msg" }, "You may not create it: it needs Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write at the identity."));
    }
    body.push(el("h3", {}, "Details"), ...details);
    openDrawer("Sign-in", ...body);
  }
  function confirmFix(f, tr) {
    const d = $("#confirm");
    $("#confirm-title").textContent = "Create this federated credential?";
    $("#confirm-body").replaceChildren(el("p", {}, "Identity ", el("b", {}, lastSeg(f.identity)), " will trust tokens with:"),
      props({ name: f.name, issuer: f.issuer, subject: f.subject, audiences: f.audiences.join(", ") }), el("p", { class: "msg" }, "The change is recorded in the activity log as you."));
    d.returnValue = "";
    d.onclose = async () => {
      if (d.returnValue !== "ok") return;
      try {
        await api("/console/api/fix/federated-credential", { method: "POST", body: { identity: f.identity, name: f.name, issuer: f.issuer, subject: f.subject, audiences: f.audiences } });
        toast("Created " + f.name + ": the next exchange will match");
        const b = $("#fix"); if (b) { b.disabled = true; b.textContent = "Created"; }
        if (tr) { const w = tr.querySelector(".badge.warn"); if (w) { w.className = "badge ok"; w.textContent = "fixed"; } }
      } catch (e) { toast("Not created: " + e.message); }
    };
    d.showModal();
  }

  // ---- activity ----
  function viewActivity(v, params) {
    v.append(el("h1", { class: "view-title" }, "Activity log"), el("p", { class: "sub" }, "Every management write, in the subscriptions whose log you may read."));
    const f = {
      result: el("select", { id: "a-result", "aria-label": "Result" }, [["", "Any result"], ["succeeded", "Succeeded"], ["failed", "Failed"]].map(([val, l]) => el("option", { value: val, selected: params.get("result") === val }, l))),
      caller: el("input", { id: "a-caller", placeholder: "Caller app or object ID", value: params.get("caller") || "", "aria-label": "Caller" }),
      q: el("input", { id: "a-q", class: "grow", placeholder: "Action or scope contains…", value: params.get("q") || "", "aria-label": "Action or scope" }),
      since: el("select", { id: "a-since", "aria-label": "Since" }, [["1h", "Last hour"], ["24h", "Last 24 hours"], ["168h", "Last 7 days"], ["720h", "Last 30 days"]].map(([val, l]) => el("option", { value: val, selected: (params.get("since") || "24h") === val }, l))),
    };
    const apply = () => go("activity", Object.fromEntries(Object.entries(f).map(([k, i]) => [k, i.value.trim()]).filter(([, x]) => x)));
    for (const i of Object.values(f)) { i.addEventListener("change", apply); i.addEventListener("keydown", e => { if (e.key === "Enter") apply(); }); }
    v.append(el("div", { class: "toolbar" }, f.result, f.caller, f.q, f.since));
    const tbody = el("tbody", { id: "a-rows" });
    v.append(el("div", { class: "table-wrap" }, el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "Time"), el("th", {}, "Result"), el("th", {}, "Action"), el("th", {}, "Scope"), el("th", { class: "hide-narrow" }, "Caller"))), tbody)));
    const q = new URLSearchParams(Object.fromEntries(Object.entries(f).map(([k, i]) => [k, i.value.trim()]).filter(([, x]) => x))).toString();
    api("/console/api/activity?" + q).then(d => {
      if (!d.value.length) tbody.append(el("tr", {}, el("td", { colspan: 5, class: "empty" }, "No events match.")));
      for (const e of d.value) tbody.append(el("tr", { tabindex: "0" }, el("td", { class: "mono" }, fmtTime(e.Time)), el("td", {}, el("span", { class: "badge " + (e.Result === "Succeeded" ? "ok" : "bad") }, e.Result + " " + e.Status)),
        el("td", {}, el("div", {}, e.Method + " " + e.Action)), el("td", { class: "mono" }, e.Scope), el("td", { class: "mono hide-narrow" }, e.Caller)));
    }).catch(e => tbody.append(el("tr", {}, el("td", { colspan: 5, class: "empty" }, e.message))));
  }

  // ---- policy ----
  // The resources that do not comply with a policy assignment, per
  // subscription: what the policyStates scan finds in the scopes whose
  // states the caller may read.
  function viewPolicy(v) {
    v.append(el("h1", { class: "view-title" }, "Policy"), el("p", { class: "sub" }, "Resources that do not comply with a policy assignment, in the subscriptions and groups whose policy states you may read."));
    const tbody = el("tbody", { id: "p-rows" });
    v.append(el("div", { class: "table-wrap" }, el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "Resource"), el("th", {}, "Assignment"), el("th", {}, "Definition"), el("th", {}, "Effect"))), tbody)));
    const last = id => id.split("/").filter(Boolean).pop() || id;
    api("/console/api/policy").then(d => {
      if (!d.value.length) { tbody.append(el("tr", {}, el("td", { colspan: 4, class: "empty" }, "Every resource you may read complies."))); return; }
      let sub = null;
      for (const r of d.value) {
        if (r.subscriptionId !== sub) { sub = r.subscriptionId; tbody.append(el("tr", { class: "group-row" }, el("td", { colspan: 4, class: "mono" }, "Subscription " + sub))); }
        tbody.append(el("tr", { tabindex: "0", class: "p-row" },
          el("td", {}, el("div", {}, el("b", { class: "p-name" }, last(r.resourceId)), " ", el("span", { class: "badge kind" }, r.resourceType)), el("div", { class: "mono muted" }, r.resourceId)),
          el("td", {}, el("div", {}, r.policyAssignmentName), el("div", { class: "mono muted hide-narrow" }, r.policyAssignmentId)),
          el("td", {}, el("div", {}, r.policyDefinitionDisplayName || r.policyDefinitionName), el("div", { class: "mono muted hide-narrow" }, r.policyDefinitionName)),
          el("td", {}, el("span", { class: "badge " + (r.effect === "deny" ? "bad" : "warn") }, r.effect))));
      }
    }).catch(e => tbody.append(el("tr", {}, el("td", { colspan: 4, class: "empty" }, e.message))));
  }

  // ---- can X do Y? ----
  function viewCheck(v, params) {
    v.append(el("h1", { class: "view-title" }, "Can X do Y?"), el("p", { class: "sub" }, "A principal, a scope and an action: the decision, the assignment and role that grant it, or why none does."));
    const p = el("input", { id: "c-principal", placeholder: "object ID, client ID or identity resource ID", value: params.get("principal") || me.objectId });
    const s = el("input", { id: "c-scope", list: "c-scopes", placeholder: "/subscriptions/…/resourceGroups/…", value: params.get("scope") || "" });
    const a = el("input", { id: "c-action", list: "c-actions", placeholder: "Microsoft.KeyVault/vaults/secrets/getSecret/action", value: params.get("action") || "" });
    const acts = ["Microsoft.KeyVault/vaults/secrets/getSecret/action", "Microsoft.KeyVault/vaults/read", "Microsoft.ManagedIdentity/userAssignedIdentities/read",
      "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write", "Microsoft.Authorization/roleAssignments/write", "Microsoft.Resources/subscriptions/resourceGroups/read"];
    const scopes = el("datalist", { id: "c-scopes" });
    loadExplorer().then(ex => scopes.replaceChildren(...[].concat(ex.subscriptions, ex.resourceGroups, ex.vaults, ex.identities.slice(0, 300)).map(o => el("option", { value: o.id }, o.name)))).catch(() => {});
    const submit = e => { e.preventDefault(); go("check", { principal: p.value.trim(), scope: s.value.trim(), action: a.value.trim() }); };
    v.append(el("form", { class: "panel check-form", onsubmit: submit }, el("label", {}, "Principal", p), el("label", {}, "Scope", s), el("label", {}, "Action", a),
      el("button", { class: "primary", type: "submit" }, "Check"), scopes, el("datalist", { id: "c-actions" }, acts.map(x => el("option", { value: x })))));
    const out = el("div", { id: "c-result" });
    v.append(out);
    if (!params.get("scope") || !params.get("action")) return;
    api("/console/api/check?" + new URLSearchParams({ principal: p.value, scope: s.value, action: a.value }).toString()).then(r => {
      out.append(el("div", { class: "verdict " + (r.allowed ? "ok" : "bad") }, el("span", { class: "big" }, r.allowed ? "Allowed" : "Denied"),
        el("div", {}, el("div", {}, r.summary), el("div", { class: "msg" }, (r.principalName ? r.principalName + " · " : "") + r.principal + (r.dataAction ? " · data action" : " · management action")))));
      if (r.assignments.length) out.append(el("div", { class: "table-wrap" }, el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "Role"), el("th", {}, "Assigned at"), el("th", {}, "Applies here"), el("th", {}, "Why"))),
        el("tbody", {}, r.assignments.map(x => el("tr", {}, el("td", {}, el("b", {}, x.role)), el("td", { class: "mono" }, x.scope),
          el("td", {}, el("span", { class: "badge " + (x.grants ? "ok" : x.applies ? "warn" : "kind") }, x.grants ? "grants" : x.applies ? "applies, does not grant" : "other scope")), el("td", {}, x.why)))))));
    }).catch(e => out.append(el("div", { class: "verdict bad" }, el("span", { class: "big" }, "Cannot check"), el("div", {}, e.message))));
  }

  // ---- start ----
  document.addEventListener("keydown", e => {
    if (e.target.closest("input, select, textarea, dialog")) { if (e.key === "Escape") e.target.blur(); return; }
    if (e.key === "Escape") closeDrawer();
    const n = { "1": "graph", "2": "explorer", "3": "signins", "4": "activity", "5": "check", "6": "policy" }[e.key];
    if (n && me) go(n);
    if (e.key === "/") { const s = $("#g-q") || $("#x-q") || $("#s-identity") || $("#a-q"); if (s) { e.preventDefault(); s.focus(); } }
    if (e.key === "t") applyTheme(document.documentElement.dataset.theme === "dark" ? "light" : "dark");
  });
  $("#drawer-close").addEventListener("click", closeDrawer);
  $("#theme").addEventListener("click", () => applyTheme(document.documentElement.dataset.theme === "dark" ? "light" : "dark"));
  $("#logout").addEventListener("click", async () => {
    try { await api("/console/api/logout", { method: "POST" }); } catch (e) { /* signed out anyway */ }
    me = null; location.hash = ""; location.reload();
  });
  api("/console/api/me").then(m => {
    me = m;
    $("#who").textContent = (m.displayName || m.appId) + (m.session ? "" : " (token)");
    $("#who").title = "object ID " + m.objectId;
    $("#logout").hidden = !m.session;
    window.addEventListener("hashchange", route);
    route();
  }).catch(() => {
    $("#signin").hidden = false;
    $("#nav").hidden = true;
  });
})();
