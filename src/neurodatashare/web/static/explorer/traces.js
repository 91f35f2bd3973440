// Traces: stacked multi-channel time series. Pages of channels, grouping by electrode
// group / region, raw samples when zoomed in and min/max bands when zoomed out (the
// server decides from the plot's width), or a channels x time heatmap (dF/F).

import { ranges, timesOf } from "./api.js";
import { plotly, CONFIG, COLORS, MARGIN, bindTime, plotWidth, fmtTime, fmtNumber, median, seriesExtent } from "./plot.js";
import { h, note, errorText, isAbort, latest, debounce, select } from "./ui.js";
import { displayUnit } from "./units.js";
import { LIMITS } from "./limits.js";

export const PAGE = LIMITS.TRACE_CHANNEL_PAGE;
const HEATMAP_PAGE = LIMITS.HEATMAP_CHANNEL_PAGE;

/** channel_groups as one group name per channel (or null when the series has none). */
export function normalizeGroups(groups, n) {
  if (!groups) return null;
  const out = new Array(n).fill(null);
  if (Array.isArray(groups)) {
    if (groups.length === n && groups.every((g) => g === null || typeof g !== "object")) {
      return groups.map((g) => (g === null ? null : String(g)));
    }
    for (const g of groups) {
      if (g && typeof g === "object") {
        const name = g.name ?? g.group ?? g.label;
        for (const c of g.channels || g.indices || []) if (c < n) out[c] = String(name);
      }
    }
  } else if (typeof groups === "object") {
    for (const [name, chans] of Object.entries(groups)) for (const c of chans || []) if (c < n) out[c] = name;
  }
  return out.some((g) => g !== null) ? out : null;
}

/** Value of channel c at sample/block i: {lo, hi} (equal for raw samples). */
function reader(win) {
  const nC = win.shape[1] || 1;
  const d = win.data;
  if (win.meta.kind === "minmax") {
    return (i, c) => [d[(i * nC + c) * 2], d[(i * nC + c) * 2 + 1]];
  }
  return (i, c) => [d[i * nC + c], d[i * nC + c]];
}

export async function mount({ el, node, api, time, urlState }) {
  const P = plotly();
  const info = await api.series(node.path);
  const n = Math.max(1, info.n_channels || 1);
  const labels = Array.isArray(info.channel_labels) && info.channel_labels.length === n
    ? info.channel_labels.map(String)
    : Array.from({ length: n }, (_, i) => `ch ${i}`);
  // Channels can be filtered by electrode group (shank) or by brain region.
  const shanks = normalizeGroups(info.channel_groups, n);
  const regions = normalizeGroups(info.channel_regions, n);
  const keysOf = (c) => [shanks && shanks[c], regions && regions[c] && `region: ${regions[c]}`].filter(Boolean);
  const groups = shanks || regions ? [...Array(n).keys()].map(keysOf) : null;
  const groupNames = groups ? [...new Set(groups.flat())] : [];
  const isRoi = /RoiResponseSeries|DfOverF|Fluorescence/.test(node.neurodata_type || "");
  const [start, end] = seriesExtent(info);
  time.addExtent(start, end);

  let mode = urlState.get("mode", isRoi && n > 1 ? "heatmap" : "lines");
  let group = groupNames.includes(urlState.get("group")) ? urlState.get("group") : "";
  let pageIndex = Math.max(0, Math.floor(urlState.getNumber("chp", 0)));
  let gain = urlState.getNumber("gain", 1) || 1;
  let spacing = null;
  let revision = 0;
  let last = null;

  const chosen = () => (group ? [...Array(n).keys()].filter((c) => groups[c].includes(group)) : [...Array(n).keys()]);
  const pageSize = () => (mode === "heatmap" ? HEATMAP_PAGE : PAGE);
  const pages = () => Math.max(1, Math.ceil(chosen().length / pageSize()));
  const current = () => {
    pageIndex = Math.min(pageIndex, pages() - 1);
    return chosen().slice(pageIndex * pageSize(), (pageIndex + 1) * pageSize());
  };

  // -- controls ------------------------------------------------------------------------
  const pageLabel = h("span", { class: "pagelabel", "aria-live": "polite" });
  const prev = h("button", { type: "button", class: "small", title: "Previous channels (PageUp)", "aria-label": "Previous channels" }, "◀");
  const next = h("button", { type: "button", class: "small", title: "Next channels (PageDown)", "aria-label": "Next channels" }, "▶");
  const tools = h("div", { class: "toolbar" });
  if (groupNames.length > 1) {
    const gsel = select("group", [["", `All channels (${n})`], ...groupNames.map((g) => [g, `${g} (${groups.filter((x) => x.includes(g)).length})`])], group, "Channel group");
    gsel.addEventListener("change", () => {
      group = gsel.value;
      pageIndex = 0;
      spacing = null;
      urlState.set({ group: group || null, chp: null });
      reload();
    });
    tools.append(h("label", {}, "Group ", gsel));
  }
  tools.append(h("span", { class: "pager" }, prev, pageLabel, next));
  const msel = select("mode", [["lines", "Stacked lines"], ["heatmap", "Heatmap"]], mode, "Display");
  msel.addEventListener("change", () => {
    mode = msel.value;
    pageIndex = 0;
    urlState.set({ mode, chp: null });
    reload();
  });
  tools.append(h("label", {}, "Show ", msel));
  const gainBox = h("span", { class: "gain" },
    h("button", { type: "button", class: "small", title: "Smaller traces", "aria-label": "Smaller traces", onclick: () => setGain(gain / 1.5) }, "−"),
    h("span", { class: "muted" }, "scale"),
    h("button", { type: "button", class: "small", title: "Larger traces", "aria-label": "Larger traces", onclick: () => setGain(gain * 1.5) }, "+"),
    h("button", { type: "button", class: "small", title: "Fit the scale to this window", onclick: () => { spacing = null; setGain(1); } }, "auto"));
  tools.append(gainBox);
  const status = h("p", { class: "status" });
  const plot = h("div", { class: "plot traces-plot" });
  el.append(tools, plot, status);

  prev.addEventListener("click", () => page(-1));
  next.addEventListener("click", () => page(1));

  function setGain(g) {
    gain = Math.min(1000, Math.max(0.001, g));
    urlState.set({ gain: Math.abs(gain - 1) < 1e-9 ? null : Number(gain.toPrecision(4)) });
    if (last) draw(last.win, last.chans);
  }

  function page(delta) {
    const np = Math.min(pages() - 1, Math.max(0, pageIndex + delta));
    if (np === pageIndex) return;
    pageIndex = np;
    spacing = null;
    urlState.set({ chp: pageIndex || null });
    reload();
  }

  function updateControls() {
    const all = chosen();
    const cur = current();
    pageLabel.textContent = cur.length
      ? `channels ${pageIndex * pageSize() + 1}–${pageIndex * pageSize() + cur.length} of ${all.length}`
      : "no channels";
    prev.disabled = pageIndex <= 0;
    next.disabled = pageIndex >= pages() - 1;
    gainBox.hidden = mode === "heatmap" || n === 1;
    tools.querySelector(".pager").hidden = all.length <= pageSize();
  }

  // -- plot ----------------------------------------------------------------------------
  const margin = { ...MARGIN };
  await P.newPlot(plot, [], { margin, height: 300, xaxis: { range: time.window }, yaxis: { fixedrange: true } }, CONFIG);
  const bound = bindTime(plot, time, { onWindow: () => reload() });

  const load = latest(async (signal) => {
    updateControls();
    const chans = current();
    const [a, b] = time.window;
    const s = Math.max(a, start);
    const e = Math.min(b, end);
    if (!chans.length) {
      note(status, "No channels in this group.", "info");
      return;
    }
    if (!(e > s)) {
      draw(null, chans);
      note(status, `Nothing in this window: the series runs from ${fmtTime(start)} to ${fmtTime(end)}.`, "info");
      return;
    }
    note(status, "Loading…", "loading");
    const width = plotWidth(plot, margin);
    const win = await api.binary("window", { path: node.path, start: s, end: e, width, channels: ranges(chans) }, { signal });
    last = { win, chans };
    draw(win, chans);
    const m = win.meta;
    const what = m.kind === "minmax"
      ? `min/max envelope (overview level ${m.level ?? "?"}), ${win.shape[0].toLocaleString("en-US")} blocks per channel`
      : `raw samples, ${win.shape[0].toLocaleString("en-US")} per channel`;
    const rate = info.rate ? `${fmtNumber(info.rate)} Hz` : "irregular timestamps";
    note(status, `${what} · ${rate} · ${m.unit || info.unit || "no unit"} · ${width} px wide`, "info");
  });

  function reload() {
    load().catch((err) => {
      if (!isAbort(err)) note(status, errorText(err), "error");
    });
  }

  function colorOf(c, k) {
    if (groups) return COLORS[Math.max(0, groupNames.indexOf(groups[c][0])) % COLORS.length];
    return k % 2 ? "#33415c" : "#1f4e9c";
  }

  function draw(win, chans) {
    revision += 1;
    const nC = chans.length;
    if (mode === "heatmap") return drawHeatmap(win, chans);
    if (n === 1) return drawSingle(win);
    const traces = [];
    const offsets = chans.map((_, k) => -k);
    if (win) {
      const nT = win.shape[0];
      const times = timesOf(win);
      const at = reader(win);
      const minmax = win.meta.kind === "minmax";
      const centers = [];
      const spans = [];
      for (let k = 0; k < nC; k++) {
        let lo = Infinity;
        let hi = -Infinity;
        let sum = 0;
        for (let i = 0; i < nT; i++) {
          const [a, b] = at(i, k);
          if (a < lo) lo = a;
          if (b > hi) hi = b;
          sum += (a + b) / 2;
        }
        centers.push(nT ? sum / nT : 0);
        spans.push(hi - lo);
      }
      if (spacing === null) spacing = median(spans) || 1;
      const scale = gain / spacing; // one spacing of signal = one row
      for (let k = 0; k < nC; k++) {
        const c = chans[k];
        const color = colorOf(c, k);
        const hover = `${labels[c]}${groups ? ` · ${groups[c].join(" · ")}` : ""}<br>%{x:.4f} s<extra></extra>`;
        if (minmax) {
          const x = new Float64Array(2 * nT);
          const y = new Float64Array(2 * nT);
          for (let i = 0; i < nT; i++) {
            const [lo, hi] = at(i, k);
            x[i] = times[i];
            y[i] = (hi - centers[k]) * scale + offsets[k];
            x[2 * nT - 1 - i] = times[i];
            y[2 * nT - 1 - i] = (lo - centers[k]) * scale + offsets[k];
          }
          traces.push({ type: "scattergl", mode: "lines", x, y, fill: "toself", fillcolor: color, line: { color, width: 0.6 }, hovertemplate: hover });
        } else {
          const y = new Float64Array(nT);
          for (let i = 0; i < nT; i++) y[i] = (at(i, k)[0] - centers[k]) * scale + offsets[k];
          traces.push({ type: "scattergl", mode: "lines", x: times, y, line: { color, width: 1 }, hovertemplate: hover });
        }
      }
    }
    const height = Math.min(640, Math.max(260, nC * 17 + 60));
    const layout = {
      margin, height, datarevision: revision, showlegend: false, dragmode: "pan", hovermode: "closest",
      xaxis: { range: [...time.window], title: { text: "time (s)", standoff: 4 }, zeroline: false, showgrid: false },
      yaxis: {
        fixedrange: true, zeroline: false, showgrid: false, tickvals: offsets,
        ticktext: chans.map((c) => labels[c]), range: [-nC + 0.3, 0.9], tickfont: { size: 10 },
      },
      shapes: bound.shapes(),
    };
    return P.react(plot, traces, layout, CONFIG);
  }

  // One channel: its real values, on a y axis labelled with the series' unit.
  function drawSingle(win) {
    const { factor, label } = displayUnit(win?.meta.unit || info.unit);
    const traces = [];
    if (win) {
      const nT = win.shape[0];
      const times = timesOf(win);
      const at = reader(win);
      const hover = `%{x:.4f} s: %{y:.4g} ${label}<extra></extra>`;
      if (win.meta.kind === "minmax") {
        const x = new Float64Array(2 * nT);
        const y = new Float64Array(2 * nT);
        for (let i = 0; i < nT; i++) {
          const [lo, hi] = at(i, 0);
          x[i] = times[i];
          y[i] = hi * factor;
          x[2 * nT - 1 - i] = times[i];
          y[2 * nT - 1 - i] = lo * factor;
        }
        traces.push({ type: "scattergl", mode: "lines", x, y, fill: "toself", fillcolor: "#1f4e9c", line: { color: "#1f4e9c", width: 0.6 }, hovertemplate: hover });
      } else {
        const y = new Float64Array(nT);
        for (let i = 0; i < nT; i++) y[i] = at(i, 0)[0] * factor;
        traces.push({ type: "scattergl", mode: "lines", x: times, y, line: { color: "#1f4e9c", width: 1.2 }, hovertemplate: hover });
      }
    }
    const layout = {
      margin: { ...margin, l: 70 }, height: 280, datarevision: revision, showlegend: false, dragmode: "pan", hovermode: "closest",
      xaxis: { range: [...time.window], title: { text: "time (s)", standoff: 4 }, zeroline: false, showgrid: false },
      yaxis: { fixedrange: true, zeroline: false, title: { text: label, standoff: 4 } },
      shapes: bound.shapes(),
    };
    return P.react(plot, traces, layout, CONFIG);
  }

  function drawHeatmap(win, chans) {
    const nC = chans.length;
    const traces = [];
    if (win) {
      const nT = win.shape[0];
      const at = reader(win);
      const z = [];
      for (let k = 0; k < nC; k++) {
        const row = new Float32Array(nT);
        for (let i = 0; i < nT; i++) {
          const [a, b] = at(i, k);
          row[i] = (a + b) / 2;
        }
        z.push(row);
      }
      const times = timesOf(win);
      const x = win.meta.kind === "minmax" ? times.map((t) => t + win.meta.dt / 2) : times;
      traces.push({
        type: "heatmap", x, y: chans.map((_, k) => k), z, colorscale: "Viridis", zsmooth: false,
        colorbar: { thickness: 10, len: 0.9, title: { text: /DfOverF|dff/i.test(node.path) ? "dF/F" : displayUnit(win.meta.unit || info.unit).label, side: "right" } },
        customdata: chans.map((c) => new Array(nT).fill(labels[c])),
        hovertemplate: "%{customdata}<br>%{x:.3f} s<br>%{z:.3g}<extra></extra>",
      });
    }
    const step = Math.max(1, Math.ceil(nC / 24));
    const ticks = chans.map((_, k) => k).filter((k) => k % step === 0);
    const layout = {
      margin: { ...margin, r: 70 }, height: Math.min(560, Math.max(260, nC * 8 + 80)), datarevision: revision,
      dragmode: "pan", showlegend: false,
      xaxis: { range: [...time.window], title: { text: "time (s)", standoff: 4 }, zeroline: false },
      yaxis: { fixedrange: true, autorange: "reversed", tickvals: ticks, ticktext: ticks.map((k) => labels[chans[k]]), tickfont: { size: 10 } },
      shapes: bound.shapes(),
    };
    return P.react(plot, traces, layout, CONFIG);
  }

  if (isRoi) {
    plot.on("plotly_click", (ev) => {
      const pt = ev.points?.[0];
      if (mode !== "heatmap" || !pt || !last) return;
      const roi = last.chans[pt.y];
      if (roi === undefined) return;
      urlState.set({ roi });
      window.dispatchEvent(new CustomEvent("nds:roi", { detail: { index: roi, source: node.path } }));
    });
  }

  const resize = new ResizeObserver(debounce(() => reload(), 200));
  resize.observe(plot);
  reload();

  return {
    page,
    destroy() {
      resize.disconnect();
      bound.unsubscribe();
      P.purge(plot);
    },
  };
}
