// Shared by the AnnData views (embedding.js, dotplot.js, cells.js): requests to the
// expression endpoints (docs/explorer-api.md, "AnnData (expression) views"), the file's
// summary, and messages in a view's section.

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
    else q.append(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

async function send(url, signal) {
  let response;
  try {
    response = await fetch(url, { signal, credentials: "same-origin" });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new Error(`The server could not be reached (${err.message}).`);
  }
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      if (typeof body.detail === "string") detail = body.detail;
    } catch (_) {
      /* not JSON: keep the status line */
    }
    throw new Error(detail);
  }
  return response;
}

export async function getJSON(section, name, params, signal) {
  const r = await send(section.dataset.api + name + query(params), signal);
  return r.json();
}

/** A binary answer: the JSON header and the float32 values. */
export async function getFloats(section, name, params, signal) {
  const r = await send(section.dataset.api + name + query(params), signal);
  const meta = JSON.parse(r.headers.get("X-NDS-Meta") || "{}");
  const data = new Float32Array(await r.arrayBuffer());
  return { meta, data };
}

let summaryPromise = null;
/** The file's `nds:summary` (what the archive read from it), fetched once per page. */
export function fileSummary(section) {
  if (!summaryPromise) {
    summaryPromise = send(`/api/assets/${section.dataset.assetId}/`)
      .then((r) => r.json())
      .then((m) => m["nds:summary"] || {})
      .catch(() => ({}));
  }
  return summaryPromise;
}

/** obs columns that group cells (categories), the cell type column first. */
export function groupColumns(summary) {
  const cols = summary.obs_columns || {};
  const names = Object.keys(cols).filter((c) => cols[c].n_categories !== undefined);
  const first = summary.roles && summary.roles.cell_type;
  return first && names.includes(first) ? [first, ...names.filter((n) => n !== first)] : names;
}

export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child);
  return node;
}

/** Show `text` in the section's status line (kind: "loading", "error" or ""). */
export function say(status, text, kind = "") {
  status.textContent = text;
  status.className = `msg small ${kind}`.trim();
  status.setAttribute("role", kind === "error" ? "alert" : "status");
}

export { whenPlotly } from "./common.js";

export function ready(fn) {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn);
  else fn();
}

export const fmt = (n) => Number(n).toLocaleString("en");

/** A list of distinct colours for categories (Plotly's and D3's palettes). */
export const PALETTE = [
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
  "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd",
  "#e6550d", "#31a354", "#756bb1", "#636363",
];

/** A gene input with type-to-find: a datalist filled from explore/genes as one types. */
export function geneInput(section, id, placeholder) {
  const list = el("datalist", { id: `${id}-list` });
  const input = el("input", {
    type: "search",
    id,
    list: list.id,
    placeholder,
    autocomplete: "off",
    "aria-label": placeholder,
  });
  let timer = null;
  let pending = null;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    const q = input.value.split(",").pop().trim();
    if (!q) return;
    timer = setTimeout(async () => {
      if (pending) pending.abort();
      pending = new AbortController();
      try {
        const found = await getJSON(section, "genes", { q, limit: 20 }, pending.signal);
        const head = input.value.includes(",") ? input.value.slice(0, input.value.lastIndexOf(",") + 1) : "";
        list.replaceChildren(
          ...found.genes.map((g) => el("option", { value: head + (g.symbol || g.name), label: g.symbol ? g.name : "" })),
        );
      } catch (err) {
        if (err.name !== "AbortError") list.replaceChildren();
      }
    }, 150);
  });
  return { input, list };
}
