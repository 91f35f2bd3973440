// The asset page: loads the file's tree, opens the views an object names, keeps the
// shared time bar, and handles the keyboard. State lives in the URL (state.js).

import { Api } from "./api.js";
import { urlState, TimeStore } from "./state.js";
import { addNodes, buildTree, isIncomplete, TreeView, VIEW_LABELS } from "./tree.js";
import { fmtTime, fmtNumber } from "./plot.js";
import { message, errorText, readable } from "./ui.js";
import { renderOverview } from "./overview.js";

const VIEW_MODULES = {
  traces: () => import("./traces.js"),
  units: () => import("./units.js"),
  imaging: () => import("./imaging.js"),
  segmentation: () => import("./imaging.js"),
  behavior: () => import("./behavior.js"),
  events: () => import("./events.js"),
  table: () => import("./table.js"),
  snippets: () => import("./snippets.js"),
  bands: () => import("./bands.js"),
  picture: () => import("./pictures.js"),
};

const root = document.getElementById("explorer");
const api = new Api(root.dataset.assetId);
const time = new TimeStore();
const panelsEl = document.getElementById("panels");
const treeEl = document.getElementById("tree");
const panels = new Map(); // path -> {el, controller, node, view}
let tree = null;
let treeView = null;
let lastFocused = null;

function tabFor(path) {
  for (const entry of urlState.getAll("tab")) {
    const i = entry.lastIndexOf(":");
    if (entry.slice(0, i) === path) return entry.slice(i + 1);
  }
  return null;
}

function setTab(path, view, defaultView) {
  const others = urlState.getAll("tab").filter((e) => e.slice(0, e.lastIndexOf(":")) !== path);
  if (view !== defaultView) others.push(`${path}:${view}`);
  urlState.set({ tab: others });
}

function factsTable(node) {
  const dl = document.createElement("dl");
  dl.className = "facts";
  const add = (k, v) => {
    if (v === null || v === undefined || v === "" || (Array.isArray(v) && !v.length)) return;
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = Array.isArray(v) ? v.map(readable).join(", ") : readable(v);
    dl.append(dt, dd);
  };
  add("Path", node.path);
  add("Type", node.neurodata_type);
  add("Kind", node.kind);
  add("Shape", node.shape && (node.shape.length ? node.shape.join(" × ") : "scalar"));
  add("Data type", node.dtype);
  add("Unit", node.unit);
  add("Chunks", node.chunks && node.chunks.join(" × "));
  add("Compression", node.compression);
  add("Description", node.description);
  for (const [k, v] of Object.entries(node.attrs || {})) add(`@${k}`, v);
  return dl;
}

function childrenTable(node) {
  const rows = node.children.filter((c) => c.kind === "dataset");
  if (!rows.length) return null;
  const table = document.createElement("table");
  table.className = "compact";
  table.innerHTML = "<thead><tr><th>Dataset</th><th>Type</th><th>Shape</th><th>dtype</th><th>Chunks</th><th>Compression</th><th>Unit</th></tr></thead>";
  const body = document.createElement("tbody");
  for (const c of rows) {
    const tr = document.createElement("tr");
    const unit = c.attrs?.unit ?? c.unit ?? "";
    for (const v of [c.name, c.neurodata_type || "", c.shape ? c.shape.join(" × ") || "scalar" : "",
      c.dtype || "", c.chunks ? c.chunks.join(" × ") : "contiguous", c.compression || "", unit]) {
      const td = document.createElement("td");
      td.textContent = String(v);
      tr.append(td);
    }
    body.append(tr);
  }
  table.append(body);
  return table;
}

async function mountView(panel, view) {
  const { el, node } = panel;
  panel.controller?.destroy?.();
  panel.controller = null;
  panel.view = view;
  for (const b of el.querySelectorAll("[role=tab]")) {
    const on = b.dataset.view === view;
    b.setAttribute("aria-selected", on ? "true" : "false");
    b.tabIndex = on ? 0 : -1;
  }
  const host = el.querySelector(".view-host");
  host.replaceChildren();
  host.dataset.view = view || "";
  if (!view) {
    message(host, `There is no view for ${node.neurodata_type ? `the type ${node.neurodata_type}` : `this ${node.kind}`}: its facts are below.`, "info");
    return;
  }
  message(host, "Loading…", "loading");
  try {
    const mod = await VIEW_MODULES[view]();
    host.replaceChildren();
    panel.controller = await mod.mount({ el: host, node, view, api, time, tree, urlState, panel });
  } catch (err) {
    console.warn(err);
    message(host, errorText(err), "error");
  }
}

function createPanel(path) {
  const node = tree.byPath.get(path);
  const el = document.createElement("article");
  el.className = "panel";
  el.dataset.path = path;
  el.tabIndex = 0;
  el.setAttribute("aria-label", `${node?.neurodata_type || "Object"} ${path}`);
  const panel = { el, node, controller: null, view: null };
  const head = document.createElement("header");
  const h = document.createElement("h2");
  if (node?.neurodata_type) {
    const t = document.createElement("span");
    t.className = "type";
    t.textContent = node.neurodata_type;
    h.append(t, " ");
  }
  const p = document.createElement("span");
  p.className = "path";
  p.textContent = path;
  h.append(p);
  head.append(h);
  const views = node?.views || [];
  if (views.length > 1) {
    const tabs = document.createElement("div");
    tabs.setAttribute("role", "tablist");
    tabs.setAttribute("aria-label", "Views");
    for (const v of views) {
      const b = document.createElement("button");
      b.type = "button";
      b.setAttribute("role", "tab");
      b.dataset.view = v;
      b.textContent = VIEW_LABELS[v] || v;
      b.addEventListener("click", () => {
        setTab(path, v, views[0]);
        mountView(panel, v);
      });
      b.addEventListener("keydown", (e) => {
        if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
        e.preventDefault();
        e.stopPropagation();
        const i = views.indexOf(v) + (e.key === "ArrowRight" ? 1 : -1);
        const next = views[(i + views.length) % views.length];
        setTab(path, next, views[0]);
        mountView(panel, next).then(() => tabs.querySelector(`[data-view="${next}"]`)?.focus());
      });
      tabs.append(b);
    }
    head.append(tabs);
  }
  const close = document.createElement("button");
  close.type = "button";
  close.className = "close";
  close.setAttribute("aria-label", `Close ${path}`);
  close.title = "Close";
  close.textContent = "×";
  close.addEventListener("click", () => closePanel(path));
  head.append(close);
  const host = document.createElement("div");
  host.className = "view-host";
  const facts = document.createElement("details");
  facts.className = "facts-box";
  const summary = document.createElement("summary");
  summary.textContent = "Facts: type, shape, data type, chunking, attributes";
  facts.append(summary);
  if (node) {
    facts.append(factsTable(node));
    const kids = childrenTable(node);
    if (kids) facts.append(kids);
  } else {
    facts.append(Object.assign(document.createElement("p"), { textContent: `${path} is not in this file.` }));
  }
  if (!views.length) facts.open = true;
  el.append(head, host, facts);
  el.addEventListener("focusin", () => { lastFocused = panel; });
  if (!node) {
    message(host, `${path} is not in this file.`, "error");
  }
  return panel;
}

function closePanel(path) {
  const panel = panels.get(path);
  if (!panel) return;
  panel.controller?.destroy?.();
  panel.el.remove();
  panels.delete(path);
  syncUrl();
}

function syncUrl() {
  const open = [...panels.keys()];
  urlState.set({ obj: open });
  treeView?.setSelected(open);
  document.getElementById("empty-hint").hidden = open.length > 0;
  document.getElementById("timebar").hidden = !time.bounds || !open.length;
}

function openObject(path, { add = false } = {}) {
  if (!add) {
    for (const p of [...panels.keys()]) if (p !== path) closePanel(p);
  }
  if (panels.has(path)) {
    panels.get(path).el.scrollIntoView({ block: "nearest" });
    syncUrl();
    return;
  }
  const panel = createPanel(path);
  panels.set(path, panel);
  panelsEl.append(panel.el);
  syncUrl();
  const views = panel.node?.views || [];
  const chosen = tabFor(path);
  if (panel.node) mountView(panel, views.includes(chosen) ? chosen : views[0] || null);
}

// -- time bar --------------------------------------------------------------------------

function setupTimebar() {
  const bar = document.getElementById("timebar");
  const start = bar.querySelector("[name=t0]");
  const end = bar.querySelector("[name=t1]");
  const cursor = bar.querySelector("[name=cursor]");
  const info = bar.querySelector(".info");
  const show = () => {
    if (time.window) {
      if (document.activeElement !== start) start.value = fmtNumber(Number(time.window[0].toPrecision(7)));
      if (document.activeElement !== end) end.value = fmtNumber(Number(time.window[1].toPrecision(7)));
    }
    if (time.cursor !== null && document.activeElement !== cursor) cursor.value = fmtNumber(Number(time.cursor.toPrecision(7)));
    const span = time.recording || time.bounds;
    info.textContent = span ? `recording ${fmtTime(span[0])} – ${fmtTime(span[1])}` : "";
    bar.hidden = !time.bounds || !panels.size;
  };
  time.subscribe(show);
  const parse = (input) => Number(String(input.value).replace(/[, s]/g, ""));
  const apply = () => {
    const a = parse(start);
    const b = parse(end);
    if (Number.isFinite(a) && Number.isFinite(b) && b > a) time.setWindow(a, b, "timebar");
    else show();
  };
  start.addEventListener("change", apply);
  end.addEventListener("change", apply);
  cursor.addEventListener("change", () => {
    const c = parse(cursor);
    if (Number.isFinite(c)) time.setCursor(c, "timebar");
  });
  bar.addEventListener("click", (e) => {
    const b = e.target.closest("button[data-act]");
    if (!b) return;
    const act = b.dataset.act;
    if (act === "left") time.pan(-0.5, "timebar");
    else if (act === "right") time.pan(0.5, "timebar");
    else if (act === "in") time.zoom(0.5, "timebar");
    else if (act === "out") time.zoom(2, "timebar");
    else if (act === "start") time.toStart("timebar");
    else if (act === "end") time.toEnd("timebar");
    else if (act === "center") time.centerOnCursor("timebar");
  });
  show();
}

// -- keyboard --------------------------------------------------------------------------

function targetPanel(capability) {
  const candidates = lastFocused && panels.get(lastFocused.el.dataset.path) ? [lastFocused, ...panels.values()] : [...panels.values()];
  return candidates.find((p) => p.controller && typeof p.controller[capability] === "function");
}

function onKey(e) {
  if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
  const t = e.target;
  if (t.closest && (t.closest("input, select, textarea, [contenteditable], [role=tree], [role=tablist], dialog"))) return;
  if (e.key === " " && t.closest && t.closest("button, a, summary")) return; // let Space press it
  let handled = true;
  switch (e.key) {
    case "ArrowLeft": if (e.shiftKey) time.stepCursor(-0.01); else time.pan(-0.25); break;
    case "ArrowRight": if (e.shiftKey) time.stepCursor(0.01); else time.pan(0.25); break;
    case "+": case "=": time.zoom(0.5); break;
    case "-": case "_": time.zoom(2); break;
    case "Home": time.toStart(); break;
    case "End": time.toEnd(); break;
    case "0": time.all(); break;
    case "c": time.centerOnCursor(); break;
    case "PageUp": targetPanel("page")?.controller.page(-1); break;
    case "PageDown": targetPanel("page")?.controller.page(1); break;
    case "ArrowUp": { const p = targetPanel("select"); if (p) p.controller.select(-1); else handled = false; break; }
    case "ArrowDown": { const p = targetPanel("select"); if (p) p.controller.select(1); else handled = false; break; }
    case " ": { const p = targetPanel("play"); if (p) p.controller.play(); else handled = false; break; }
    case "?": document.getElementById("keys-help").showModal(); break;
    default: handled = false;
  }
  if (handled) e.preventDefault();
}

// -- start -----------------------------------------------------------------------------

async function start() {
  setupTimebar();
  document.addEventListener("keydown", onKey);
  document.getElementById("keys-button").addEventListener("click", () => document.getElementById("keys-help").showModal());
  document.getElementById("keys-close").addEventListener("click", () => document.getElementById("keys-help").close());
  time.subscribe(() => {
    document.getElementById("timebar").hidden = !time.bounds || !panels.size;
  });
  window.addEventListener("nds:open", (e) => {
    if (tree?.byPath.has(e.detail.path)) openObject(e.detail.path, { add: true });
  });
  const overviewEl = document.getElementById("overview");
  const overview = api.json("overview").catch((err) => ({ error: err }));
  let data;
  try {
    data = await api.json("tree");
  } catch (err) {
    message(treeEl, errorText(err), "error");
    message(panelsEl, `This file cannot be explored: ${errorText(err)}`, "error");
    root.dataset.state = "error";
    return;
  }
  tree = buildTree(data.nodes || []);
  const wanted = urlState.getAll("obj");
  for (const p of wanted) await revealLoaded(p);
  const count = tree.byPath.size - 1;
  const viewable = [...tree.byPath.values()].filter((n) => (n.views || []).length).length;
  const paged = data.next_offset !== null && data.next_offset !== undefined;
  document.getElementById("tree-count").textContent =
    `${count.toLocaleString("en-US")} objects${paged ? " loaded (more as groups open)" : ""}, ${viewable} with a view`;
  treeView = new TreeView(treeEl, tree, { onOpen: (p, o) => openObject(p, o), loadChildren, selected: wanted });
  const filter = document.getElementById("tree-filter");
  filter.addEventListener("input", () => treeView.setFilter(filter.value));
  // the overview first: session, subject, devices, electrodes, and the recording's span
  const ov = await overview;
  renderOverview(overviewEl, ov, { collapsed: wanted.length > 0, open: (p) => openObject(p, { add: true }) });
  if (ov && !ov.error && ov.span) time.setRecording(ov.span[0], ov.span[1]);
  if (wanted.length) {
    wanted.forEach((p, i) => openObject(p, { add: i > 0 }));
  } else if (ov && !ov.error && ov.main && tree.byPath.has(ov.main)) {
    openObject(ov.main); // the file's main acquisition view, drawn at once
  } else {
    syncUrl();
  }
  root.dataset.state = "ready";
}

// Large files' trees come in pages (breadth-first); a group's remaining children are
// fetched when it is opened, a page of 1,000 at a time.
async function loadChildren(path) {
  const nodes = [];
  let offset = 0;
  do {
    const page = await api.json("tree", { path, depth: 1, offset });
    nodes.push(...page.nodes.filter((n) => n.path !== path));
    offset = page.next_offset;
  } while (offset !== null && offset !== undefined && nodes.length < 50_000);
  return nodes;
}

// Make sure every group on the way to `path` (from a shared link) has its children loaded.
async function revealLoaded(path) {
  const parts = path.split("/").filter(Boolean);
  let current = "/";
  for (let i = 0; i < parts.length; i++) {
    const node = tree.byPath.get(current);
    if (node && isIncomplete(node)) {
      try {
        addNodes(tree, await loadChildren(current));
      } catch (_) {
        return;
      }
    }
    current = `/${parts.slice(0, i + 1).join("/")}`;
  }
}

start();
