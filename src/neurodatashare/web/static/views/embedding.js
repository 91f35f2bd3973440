// The embedding view of an AnnData file: every cell of an obsm embedding (UMAP, t-SNE, PCA,
// spatial), as points (Plotly scattergl) when few are in view, else as the server's density
// grid (a heatmap); coloured by an obs column or a gene. Zooming asks for the new window.
import {
  PALETTE, el, fileSummary, fmt, geneInput, getFloats, ready, say, whenPlotly,
} from "./lib/expression.js";

const MAX_LEGEND_TRACES = 40;

function categoryScale(n) {
  // a stepped colour scale so heatmap code k gets PALETTE[k]
  if (n <= 1) return [[0, PALETTE[0]], [1, PALETTE[0]]];
  const out = [];
  for (let k = 0; k < n; k++) {
    const c = PALETTE[k % PALETTE.length];
    out.push([k / n, c], [(k + 1) / n, c]);
  }
  return out;
}

function pointTraces(meta, data) {
  const n = data.length / 4;
  const col = (j) => { const a = new Float32Array(n); for (let i = 0; i < n; i++) a[i] = data[i * 4 + j]; return a; };
  const x = col(0), y = col(1), v = col(2);
  const color = meta.color;
  const base = { type: "scattergl", mode: "markers", hoverinfo: "text" };
  const size = n > 5000 ? 3 : n > 500 ? 5 : 7;
  if (color.kind === "category" && color.categories.length <= MAX_LEGEND_TRACES) {
    const traces = [];
    color.categories.forEach((name, k) => {
      const xs = [], ys = [];
      for (let i = 0; i < n; i++) if (v[i] === k) { xs.push(x[i]); ys.push(y[i]); }
      if (xs.length) traces.push({ ...base, x: xs, y: ys, name, text: name, marker: { size, color: PALETTE[k % PALETTE.length] } });
    });
    return traces;
  }
  if (color.kind === "category") {
    const text = Array.from(v, (c) => (Number.isNaN(c) ? "(missing)" : color.categories[c]));
    return [{ ...base, x, y, text, showlegend: false, marker: { size, color: Array.from(v, (c) => c + 0.5), colorscale: categoryScale(color.categories.length), cmin: 0, cmax: color.categories.length } }];
  }
  if (color.kind === "number" || color.kind === "gene") {
    const text = Array.from(v, (c) => `${color.name}: ${Number.isNaN(c) ? "missing" : c.toPrecision(4)}`);
    return [{ ...base, x, y, text, showlegend: false, marker: { size, color: Array.from(v), colorscale: "Viridis", showscale: true, colorbar: { title: { text: color.name } } } }];
  }
  return [{ ...base, x, y, text: "cell", showlegend: false, marker: { size, color: "#1f77b4" } }];
}

function binTrace(meta, data) {
  const { nx, ny, window: w, color } = meta;
  const dx = (w[1] - w[0]) / nx, dy = (w[3] - w[2]) / ny;
  const x = Array.from({ length: nx }, (_, i) => w[0] + (i + 0.5) * dx);
  const y = Array.from({ length: ny }, (_, j) => w[2] + (j + 0.5) * dy);
  const z = [], text = [];
  const per = nx * ny;
  for (let j = 0; j < ny; j++) {
    const zr = new Array(nx), tr = new Array(nx);
    for (let i = 0; i < nx; i++) {
      const count = data[j * nx + i], value = data[per + j * nx + i];
      if (!count) { zr[i] = null; tr[i] = ""; continue; }
      if (color.kind === "none") { zr[i] = Math.log10(count); tr[i] = `${fmt(count)} cells`; continue; }
      // a category's code k is drawn at k + 0.5: the middle of its step of the colour scale
      zr[i] = Number.isNaN(value) ? null : color.kind === "category" ? value + 0.5 : value;
      const shown = color.kind === "category" ? (color.categories[value] ?? "(missing)") : `mean ${color.name} ${value.toPrecision(3)}`;
      tr[i] = `${fmt(count)} cells · ${shown}`;
    }
    z.push(zr); text.push(tr);
  }
  const trace = { type: "heatmap", x, y, z, text, hoverinfo: "text", hoverongaps: false, showscale: true };
  if (color.kind === "category") {
    Object.assign(trace, { colorscale: categoryScale(color.categories.length), zmin: 0, zmax: color.categories.length, showscale: false });
  } else if (color.kind === "none") {
    Object.assign(trace, { colorscale: "Blues", colorbar: { title: { text: "log10 cells" } } });
  } else {
    Object.assign(trace, { colorscale: "Viridis", colorbar: { title: { text: color.name } } });
  }
  return [trace];
}

function categoryLegend(meta) {
  const color = meta.color;
  if (color.kind !== "category" || (meta.mode === "points" && color.categories.length <= MAX_LEGEND_TRACES)) return null;
  const box = el("div", { class: "legend small" });
  color.categories.slice(0, 60).forEach((name, k) => {
    box.append(el("span", { class: "swatch", style: `border-left:1em solid ${PALETTE[k % PALETTE.length]};padding-left:.3em;margin-right:.8em` }, name));
  });
  return box;
}

async function start(section) {
  const Plotly = await whenPlotly();
  const summary = await fileSummary(section);
  const keySelect = el("select", { "aria-label": "Embedding" });
  const colorSelect = el("select", { "aria-label": "Colour by an obs column" });
  colorSelect.append(el("option", { value: "", text: "no colour" }));
  for (const name of Object.keys(summary.obs_columns || {})) colorSelect.append(el("option", { value: name, text: name }));
  const cellType = summary.roles && summary.roles.cell_type;
  if (cellType) colorSelect.value = cellType;
  const gene = geneInput(section, "embedding-gene", "Colour by a gene");
  const status = el("p", { class: "msg small loading", role: "status" });
  const plot = el("div", { class: "embedding-plot", style: "width:100%;height:560px" });
  const legend = el("div");
  section.replaceChildren(
    el("h2", { text: "Embedding" }),
    el("div", { class: "controls" },
      el("label", {}, "embedding ", keySelect), " ",
      el("label", {}, "colour ", colorSelect), " ",
      gene.input, gene.list, " ",
      el("button", { type: "button", class: "small", "data-act": "reset" }, "whole embedding")),
    status, plot, legend,
  );
  const state = { key: null, color: colorSelect.value, window: null };
  let pending = null;
  let drawn = false;

  async function load() {
    if (pending) pending.abort();
    pending = new AbortController();
    const width = Math.max(100, Math.round(plot.clientWidth || 800));
    const height = Math.max(100, Math.round(plot.clientHeight || 560));
    const w = state.window;
    say(status, "Loading the embedding…", "loading");
    let answer;
    try {
      answer = await getFloats(section, "embedding", {
        key: state.key, color: state.color, width, height, bin: 4,
        ...(w ? { x0: w[0], x1: w[1], y0: w[2], y1: w[3] } : {}),
      }, pending.signal);
    } catch (err) {
      if (err.name !== "AbortError") say(status, err.message, "error");
      return;
    }
    const { meta, data } = answer;
    if (!state.key) {
      state.key = meta.key;
      keySelect.replaceChildren(...meta.keys.map((k) => el("option", { value: k, text: k })));
      keySelect.value = meta.key;
    }
    const traces = meta.mode === "points" ? pointTraces(meta, data) : binTrace(meta, data);
    const layout = {
      margin: { l: 50, r: 20, t: 10, b: 40 },
      xaxis: { range: [meta.window[0], meta.window[1]], title: { text: `${meta.key} 1` }, zeroline: false },
      yaxis: { range: [meta.window[2], meta.window[3]], title: { text: `${meta.key} 2` }, zeroline: false },
      showlegend: meta.mode === "points" && meta.color.kind === "category",
      legend: { itemsizing: "constant" },
      dragmode: "zoom",
      uirevision: "embedding",
    };
    await Plotly.react(plot, traces, layout, { responsive: true, displaylogo: false });
    const how = meta.mode === "points"
      ? `${fmt(meta.in_view)} cells drawn`
      : `${fmt(meta.in_view)} cells in view, binned into ${meta.nx} × ${meta.ny} squares of ${meta.bin_pixels} px; zoom in to see single cells`;
    say(status, `${fmt(meta.cells)} cells in ${meta.key} · ${how}${meta.color.kind !== "none" ? ` · colour: ${meta.color.name}` : ""}`);
    legend.replaceChildren(...[categoryLegend(meta)].filter(Boolean));
    section.dataset.mode = meta.mode;
    section.dataset.state = "ready";
    if (!drawn) {
      drawn = true;
      plot.on("plotly_relayout", (e) => {
        if (e["xaxis.autorange"] || e["yaxis.autorange"]) { state.window = null; load(); return; }
        const x0 = e["xaxis.range[0]"], x1 = e["xaxis.range[1]"];
        const y0 = e["yaxis.range[0]"], y1 = e["yaxis.range[1]"];
        if (x0 === undefined && y0 === undefined) return;
        const cur = state.window || meta.window;
        state.window = [x0 ?? cur[0], x1 ?? cur[1], y0 ?? cur[2], y1 ?? cur[3]];
        load();
      });
    }
  }

  keySelect.addEventListener("change", () => { state.key = keySelect.value; state.window = null; load(); });
  colorSelect.addEventListener("change", () => { state.color = colorSelect.value; gene.input.value = ""; load(); });
  gene.input.addEventListener("change", () => {
    if (!gene.input.value.trim()) return;
    state.color = gene.input.value.trim();
    colorSelect.value = "";
    load();
  });
  section.querySelector("[data-act=reset]").addEventListener("click", () => { state.window = null; load(); });
  await load();
}

ready(() => {
  for (const section of document.querySelectorAll('section[data-view="embedding"]')) {
    start(section).catch((err) => {
      section.replaceChildren(el("p", { class: "msg error", role: "alert", text: `The embedding view failed: ${err.message}` }));
    });
  }
});
