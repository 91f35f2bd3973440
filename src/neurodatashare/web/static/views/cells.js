// The cells of an AnnData file: its obs table a page at a time, sorted by a click on a
// column's name and filtered with the table view's COLUMN:OP:VALUE filters.
import { el, fmt, getJSON, ready, say } from "./lib/expression.js";

const PAGE = 50;

async function start(section) {
  const filter = el("input", {
    type: "search", size: 40, placeholder: "filter, e.g. cell_type:eq:Sst; n_counts:gt:100",
    "aria-label": "Filter the cells (COLUMN:OP:VALUE, separated by ;)",
  });
  const apply = el("button", { type: "button", class: "small" }, "Filter");
  const prev = el("button", { type: "button", class: "small", "data-act": "prev" }, "◀ previous");
  const next = el("button", { type: "button", class: "small", "data-act": "next" }, "next ▶");
  const status = el("p", { class: "msg small loading", role: "status" });
  const table = el("table", { class: "compact cells" });
  const wrap = el("div", { style: "overflow:auto;max-height:520px" }, table);
  section.replaceChildren(
    el("h2", { text: "Cells" }),
    el("div", { class: "controls" }, filter, " ", apply, " ", prev, " ", next),
    status, wrap,
  );
  const state = { offset: 0, sort: null, desc: false, filters: [] };

  async function load() {
    say(status, "Loading cells…", "loading");
    let page;
    try {
      page = await getJSON(section, "cells", {
        offset: state.offset, limit: PAGE, sort: state.sort, desc: state.desc ? 1 : "", filter: state.filters,
      });
    } catch (err) {
      say(status, err.message, "error");
      return;
    }
    const head = el("tr");
    for (const col of page.columns) {
      const mark = state.sort === col.name ? (state.desc ? " ▼" : " ▲") : "";
      const th = el("th", { scope: "col", title: `${col.kind}${col.dtype ? ` (${col.dtype})` : ""}; click to sort` });
      const button = el("button", { type: "button", class: "link" }, col.name + mark);
      button.addEventListener("click", () => {
        if (state.sort === col.name) state.desc = !state.desc;
        else { state.sort = col.name; state.desc = false; }
        state.offset = 0;
        load();
      });
      th.append(button);
      head.append(th);
    }
    const body = el("tbody");
    for (const row of page.rows) {
      const tr = el("tr");
      for (const col of page.columns) {
        const v = row[col.name];
        tr.append(el("td", { text: v === null || v === undefined ? "" : String(v) }));
      }
      body.append(tr);
    }
    table.replaceChildren(el("thead", {}, head), body);
    const last = Math.min(page.offset + page.rows.length, page.filtered_total);
    const of = page.filtered_total === page.total ? fmt(page.total) : `${fmt(page.filtered_total)} matching (of ${fmt(page.total)})`;
    say(status, page.rows.length ? `Cells ${fmt(page.offset + 1)}–${fmt(last)} of ${of}` : `No cells match (of ${fmt(page.total)}).`);
    prev.disabled = page.offset === 0;
    next.disabled = last >= page.filtered_total;
    section.dataset.state = "ready";
  }

  const run = () => {
    state.filters = filter.value.split(";").map((f) => f.trim()).filter(Boolean);
    state.offset = 0;
    load();
  };
  apply.addEventListener("click", run);
  filter.addEventListener("keydown", (e) => { if (e.key === "Enter") run(); });
  prev.addEventListener("click", () => { state.offset = Math.max(0, state.offset - PAGE); load(); });
  next.addEventListener("click", () => { state.offset += PAGE; load(); });
  await load();
}

ready(() => {
  for (const section of document.querySelectorAll('section[data-view="cells"]')) {
    start(section).catch((err) => {
      section.replaceChildren(el("p", { class: "msg error", role: "alert", text: `The cells view failed: ${err.message}` }));
    });
  }
});
