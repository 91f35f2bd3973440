// Tables (trials, units, electrodes, any DynamicTable): sort by a column, filter by
// column values, per-column summaries, ragged columns shown as counts plus the first values.

import { tableColumns, tableTotal, columnSummary } from "./units.js";
import { rowObjects } from "./rows.js";
import { fmtNumber } from "./plot.js";
import { h, note, errorText, isAbort, latest, readable } from "./ui.js";
import { LIMITS } from "./limits.js";

/** The name of an object path ("/general/extracellular_ephys/shank0" -> "shank0"). */
export function objectName(path) {
  return String(path).replace(/\/+$/, "").split("/").pop() || String(path);
}

function item(x) {
  if (typeof x === "number") return fmtNumber(x);
  if (Array.isArray(x)) return `[${x.length}]`;
  if (x && typeof x === "object" && typeof x.path === "string") return objectName(x.path);
  return readable(x);
}

const LIMIT = LIMITS.TABLE_PAGE;
const OPS = [[">=", "ge"], ["<=", "le"], ["!=", "ne"], [">", "gt"], ["<", "lt"], ["=", "eq"], ["~", "contains"]];

/** "> 0.5" -> ["gt", "0.5"]; plain text -> contains (text) or eq (numbers). */
export function parseFilter(text, numeric) {
  const s = text.trim();
  if (!s) return null;
  for (const [sym, op] of OPS) {
    if (s.startsWith(sym)) return [op, s.slice(sym.length).trim()];
  }
  return [numeric ? "eq" : "contains", s];
}

export function showFilter(op, value) {
  const sym = OPS.find(([, o]) => o === op)?.[0] ?? `${op}:`;
  return `${sym}${value}`;
}

function summaryText(s) {
  if (!s) return "";
  const kind = s.kind || s.type;
  if (kind === "bool") return `true ${s.true ?? 0}, false ${s.false ?? 0}`;
  if (kind === "ragged" || kind === "lengths" || s.min_length !== undefined) {
    const lo = s.min_length ?? s.min;
    const hi = s.max_length ?? s.max;
    const mean = s.mean_length ?? s.mean;
    return `ragged: ${fmtNumber(lo)}–${fmtNumber(hi)} values per row${mean !== undefined ? `, mean ${fmtNumber(mean)}` : ""}`;
  }
  if (typeof s.min === "number" || typeof s.max === "number") {
    return `${fmtNumber(s.min)} – ${fmtNumber(s.max)}${s.mean !== undefined ? `, mean ${fmtNumber(s.mean)}` : ""}`;
  }
  const top = s.top || s.most_common || s.values;
  if (Array.isArray(top)) {
    const name = (v) => (s.reference && typeof v === "string" && v.startsWith("/") ? objectName(v) : item(v));
    return top.slice(0, 4).map((x) => (Array.isArray(x) ? `${name(x[0])} (${x[1]})` : x && typeof x === "object" ? `${name(x.value)} (${x.count})` : name(x))).join(", ");
  }
  if (top && typeof top === "object") return Object.entries(top).slice(0, 4).map(([k, v]) => `${k} (${v})`).join(", ");
  if (s.shape) return `array ${s.shape.join(" × ")}`;
  return "";
}

function isNumeric(s) {
  if (!s) return false;
  if (s.kind) return ["number", "numeric", "float", "int", "integer", "bool"].includes(s.kind);
  return typeof s.min === "number";
}

function cellText(v) {
  if (v === null || v === undefined) return ["—", ""];
  if (Array.isArray(v)) {
    const shown = v.slice(0, 4).map(item);
    return [`[${v.length}${v.length >= 10 ? "+" : ""}] ${shown.join(", ")}${v.length > 4 ? ", …" : ""}`, "ragged"];
  }
  if (typeof v === "object") {
    if (Array.isArray(v.shape) && v.values === undefined) return [`array ${v.shape.join(" × ")}`, "ragged"];
    if (v.length !== undefined && Array.isArray(v.values)) {
      const shown = v.values.slice(0, 4).map(item);
      return [`[${v.length}] ${shown.join(", ")}${v.length > 4 ? ", …" : ""}`, "ragged"];
    }
    if (typeof v.path === "string") {
      const range = Array.isArray(v.range) ? ` [${v.range.join("–")}]` : v.index !== undefined ? ` [${readable(v.index)}]` : "";
      return [`${objectName(v.path)}${range}`, "ref"];
    }
    return [readable(v), ""];
  }
  if (typeof v === "number") return [fmtNumber(v), "num"];
  return [readable(v), ""];
}

export async function mount({ el, node, api, time, urlState }) {
  let sort = urlState.get("sort");
  let desc = urlState.get("desc") === "1";
  let offset = Math.max(0, Math.floor(urlState.getNumber("toff", 0)));
  let filters = urlState.getAll("filter").map((f) => {
    const [col, op, ...rest] = f.split(":");
    return { col, op, value: rest.join(":") };
  });
  const wrap = h("div", { class: "datatable-wrap", tabindex: "0", "aria-label": `Rows of ${node.path}` });
  const pageLabel = h("span", { class: "pagelabel", "aria-live": "polite" });
  const prev = h("button", { type: "button", class: "small", "aria-label": "Previous rows", title: "Previous rows (PageUp)", onclick: () => page(-1) }, "◀");
  const next = h("button", { type: "button", class: "small", "aria-label": "Next rows", title: "Next rows (PageDown)", onclick: () => page(1) }, "▶");
  const clear = h("button", { type: "button", class: "small", onclick: () => { filters = []; offset = 0; save(); reload(true); } }, "clear filters");
  const status = h("p", { class: "status" });
  el.append(h("div", { class: "toolbar" }, h("span", { class: "pager" }, prev, pageLabel, next), clear,
    h("span", { class: "muted" }, "click a heading to sort; filter with > 0.5, <= 3, = go, != mua, ~ text")), wrap, status);
  let total = 0;
  let columns = [];
  let meta = null;

  function save() {
    urlState.set({
      sort: sort || null, desc: sort && desc ? "1" : null, toff: offset || null,
      filter: filters.map((f) => `${f.col}:${f.op}:${f.value}`),
    });
  }

  function page(delta) {
    const o = Math.max(0, Math.min(offset + delta * LIMIT, Math.max(0, total - 1)));
    if (o === offset) return;
    offset = o - (o % LIMIT);
    save();
    reload(false);
  }

  const load = latest(async (signal, rebuild) => {
    note(status, "Loading…", "loading");
    const t = await api.json("table", {
      path: node.path, offset, limit: LIMIT, sort, desc: sort && desc ? 1 : null,
      filter: filters.map((f) => `${f.col}:${f.op}:${f.value}`),
    }, { signal });
    meta = t;
    const all = tableTotal(t);
    total = t.filtered_total ?? t.n_matching ?? all;
    columns = tableColumns(t);
    render(rowObjects(t), rebuild);
    pageLabel.textContent = total ? `rows ${offset + 1}–${Math.min(total, offset + LIMIT)} of ${total}${total !== all ? ` (filtered from ${all})` : ""}` : `no rows${all ? ` (of ${all})` : ""} match`;
    prev.disabled = offset === 0;
    next.disabled = offset + LIMIT >= total;
    clear.hidden = !filters.length;
    note(status, `${columns.length} columns`, "info");
  });

  const refKind = (c) => {
    const col = (meta?.columns || []).find((x) => typeof x === "object" && x.name === c);
    return col && (col.kind === "reference" || col.kind === "region");
  };

  function render(rows, rebuild) {
    const table = h("table", { class: "datatable" });
    const head = h("tr", {});
    const filterRow = h("tr", { class: "filters" });
    for (const c of columns) {
      const s = columnSummary(meta, c);
      if (s && refKind(c)) s.reference = true;
      const sorted = sort === c;
      const btn = h("button", { type: "button", title: `Sort by ${c}` }, c, sorted ? (desc ? " ▼" : " ▲") : "");
      btn.addEventListener("click", () => {
        if (sort === c) desc = !desc;
        else {
          sort = c;
          desc = false;
        }
        offset = 0;
        save();
        reload(false);
      });
      const th = h("th", { scope: "col", "aria-sort": sorted ? (desc ? "descending" : "ascending") : "none" }, btn, h("span", { class: "sum" }, summaryText(s)));
      head.append(th);
      const f = filters.find((x) => x.col === c);
      const input = h("input", { type: "text", name: `filter-${c}`, placeholder: isNumeric(s) ? "> 0" : "text", value: f ? showFilter(f.op, f.value) : "", "aria-label": `Filter ${c}` });
      input.addEventListener("change", () => {
        const parsed = parseFilter(input.value, isNumeric(s));
        filters = filters.filter((x) => x.col !== c);
        if (parsed) filters.push({ col: c, op: parsed[0], value: parsed[1] });
        offset = 0;
        save();
        reload(false);
      });
      filterRow.append(h("th", {}, input));
    }
    const body = h("tbody", {});
    const timed = columns.includes("start_time");
    for (const r of rows) {
      const tr = h("tr", { class: timed ? "clickable" : "" });
      for (const c of columns) {
        const v = r[c];
        const ref = refKind(c) && typeof v === "string" && v.startsWith("/") ? v : v && typeof v === "object" && typeof v.path === "string" ? v.path : null;
        if (ref) {
          const [text] = ref === v ? [objectName(v)] : cellText(v);
          const link = h("button", { type: "button", class: "link ref", title: `Open ${ref}` }, text);
          link.addEventListener("click", (e) => {
            e.stopPropagation();
            window.dispatchEvent(new CustomEvent("nds:open", { detail: { path: ref } }));
          });
          tr.append(h("td", { class: "ref" }, link));
          continue;
        }
        const [text, cls] = cellText(v);
        tr.append(h("td", { class: cls, title: text.length > 40 ? text : null }, text));
      }
      if (timed && Number.isFinite(r.start_time)) {
        tr.title = "Show this row's time span";
        tr.addEventListener("click", () => {
          const a = r.start_time;
          const b = Number.isFinite(r.stop_time) && r.stop_time > a ? r.stop_time : a + 1;
          const pad = (b - a) * 0.25;
          time.setWindow(a - pad, b + pad, "table");
          time.setCursor(a, "table", { follow: false });
          for (const x of body.querySelectorAll("tr.selected")) x.classList.remove("selected");
          tr.classList.add("selected");
        });
      }
      body.append(tr);
    }
    table.append(h("thead", {}, head, filterRow), body);
    const focused = document.activeElement?.name;
    wrap.replaceChildren(table);
    if (focused && !rebuild) wrap.querySelector(`[name="${CSS.escape(focused)}"]`)?.focus();
  }

  function reload(rebuild) {
    load(rebuild).catch((err) => {
      if (!isAbort(err)) note(status, errorText(err), "error");
    });
  }

  reload(true);
  return { page, destroy() {} };
}


