// Units: a paged spike raster with firing rates, a PSTH aligned to a column of a
// trials/events table and grouped by another column, and mean waveforms.

import { plotly, CONFIG, COLORS, MARGIN, bindTime } from "./plot.js";
import { h, note, errorText, isAbort, latest, debounce, select } from "./ui.js";
import { ranges } from "./api.js";
import { LIMITS } from "./limits.js";

const UNIT_PAGE = LIMITS.UNIT_PAGE;
const OTHERS = COLORS.filter((c) => c !== "#d62728"); // red marks the selected / largest

/** Volts are shown as µV (spikes are tens of µV); other units as they are. */
export function displayUnit(unit) {
  const u = String(unit || "").trim();
  if (/^(v|volt|volts)$/i.test(u)) return { factor: 1e6, label: "µV" };
  if (/^(mv|millivolts?)$/i.test(u)) return { factor: 1e3, label: "µV" };
  if (!u || /^(n\.?a\.?|n\/a|none|no unit|unknown)$/i.test(u)) return { factor: 1, label: "value (no unit given)" };
  return { factor: 1, label: u };
}

/** A bin width that gives about 40 bins over the window, rounded to 1, 2 or 5 × 10^k s. */
export function readableBin(span) {
  const raw = Math.max(span, 1e-3) / 40;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].find((m) => m * p >= raw) * p;
  return Number(step.toPrecision(3));
}

export function tableTotal(t) {
  return t.total ?? t.n_rows ?? t.count ?? t.n ?? (t.rows ? t.rows.length : 0);
}

export function tableColumns(t) {
  const cols = t.columns || t.colnames || (t.rows?.[0] && !Array.isArray(t.rows[0]) ? Object.keys(t.rows[0]) : []);
  return cols.map((c) => (typeof c === "string" ? c : c.name));
}

export function columnSummary(t, name) {
  const s = t.summaries || t.summary || {};
  if (Array.isArray(s)) return s.find((x) => x.name === name || x.column === name) || null;
  if (s[name]) return s[name];
  const col = (t.columns || []).find((c) => typeof c === "object" && c.name === name);
  return col?.summary || col || null;
}

function isNumericSummary(s) {
  if (!s) return false;
  if (s.kind) return ["number", "numeric", "float", "int", "integer", "bool"].includes(s.kind);
  return typeof s.min === "number" || typeof s.mean === "number";
}

/** Spike lists as [{index, id, times, truncated}] whatever the exact response shape. */
export function normalizeSpikes(resp, chosen) {
  const units = resp.units || resp.spikes || [];
  if (Array.isArray(units) && units.length && typeof units[0] === "object" && !Array.isArray(units[0])) {
    return units.map((u, k) => ({
      index: u.index ?? u.unit ?? chosen[k],
      id: u.id ?? u.unit_id ?? u.index ?? chosen[k],
      times: u.times || u.spike_times || [],
      count: u.count ?? (u.times || u.spike_times || []).length,
      truncated: Boolean(u.truncated || resp.truncated),
    }));
  }
  const times = resp.times || resp.spike_times || units;
  const ids = resp.unit_ids || resp.ids || chosen;
  return (times || []).map((t, k) => ({ index: chosen[k], id: ids[k] ?? chosen[k], times: t || [], truncated: false }));
}

/** PSTH as {centers, groups:[{label, n}], units:[{index, id, counts:[[...] per group]}]}. */
export function normalizePsth(resp, bin) {
  let edges = resp.bin_edges || resp.edges || null;
  let centers = resp.bin_centers || resp.centers || null;
  if (!centers && edges) centers = edges.slice(0, -1).map((e, i) => (e + edges[i + 1]) / 2);
  if (!centers && Array.isArray(resp.bins)) centers = resp.bins;
  let groups = resp.groups || resp.group_values || [];
  groups = groups.map((g) => {
    if (g && typeof g === "object") return { label: String(g.value ?? g.name ?? g.label ?? g.group), n: g.n_trials ?? g.trials ?? g.count ?? null };
    return { label: String(g), n: resp.n_trials?.[String(g)] ?? null };
  });
  const units = (resp.units || []).map((u) => {
    let counts = u.counts ?? u.groups ?? u.psth ?? [];
    if (!Array.isArray(counts) && typeof counts === "object") {
      if (!groups.length) groups = Object.keys(counts).map((k) => ({ label: k, n: null }));
      counts = groups.map((g) => counts[g.label] || []);
    } else if (Array.isArray(counts) && counts.length && typeof counts[0] === "object" && !Array.isArray(counts[0])) {
      if (!groups.length) groups = counts.map((c) => ({ label: String(c.value ?? c.group ?? c.name), n: c.n_trials ?? null }));
      counts = counts.map((c) => c.counts || []);
    } else if (Array.isArray(counts) && counts.length && typeof counts[0] === "number") {
      counts = [counts];
    }
    return { index: u.index ?? u.unit, id: u.id ?? u.unit_id ?? u.index, counts };
  });
  if (!groups.length) groups = [{ label: "all trials", n: resp.n_trials ?? null }];
  if (!centers) {
    const n = units[0]?.counts?.[0]?.length || 0;
    centers = Array.from({ length: n }, (_, i) => -Number(resp.pre ?? 0) + (i + 0.5) * bin);
  }
  return { centers, groups, units };
}

/** Mean waveform of one unit as channels x samples. */
export function normalizeWaveform(u) {
  let w = u.mean ?? u.waveform_mean ?? u.waveform ?? u.mean_waveform ?? [];
  if (!Array.isArray(w) || !w.length) return [];
  if (typeof w[0] === "number") return [w];
  // NWB stores (samples, channels); more samples than channels is the usual case
  if (w.length >= w[0].length) w = w[0].map((_, c) => w.map((row) => row[c]));
  return w;
}

export async function mount({ el, node, api, time, urlState, tree }) {
  const P = plotly();
  const meta = await api.json("table", { path: node.path, offset: 0, limit: 1 }, { cache: true });
  const nUnits = tableTotal(meta);
  if (!nUnits) throw new Error("This units table has no units.");
  let pageIndex = Math.max(0, Math.floor(urlState.getNumber("upage", 0)));
  let unit = Math.min(nUnits - 1, Math.max(0, Math.floor(urlState.getNumber("unit", 0))));
  const pages = Math.ceil(nUnits / UNIT_PAGE);
  pageIndex = Math.min(pageIndex, pages - 1);
  let lastUnits = [];

  if (!time.bounds) {
    const sample = await api.json("spikes", { path: node.path, start: -1e9, end: 1e12, units: `0-${Math.min(nUnits, 20) - 1}` });
    let lo = Infinity;
    let hi = -Infinity;
    for (const u of normalizeSpikes(sample, [...Array(nUnits).keys()])) {
      for (const t of u.times) {
        if (t < lo) lo = t;
        if (t > hi) hi = t;
      }
    }
    if (Number.isFinite(lo)) time.addExtent(Math.min(0, lo), hi);
    else time.addExtent(0, 10);
  }

  // -- DOM -------------------------------------------------------------------------------
  const pageLabel = h("span", { class: "pagelabel", "aria-live": "polite" });
  const prev = h("button", { type: "button", class: "small", "aria-label": "Previous units", title: "Previous units (PageUp)", onclick: () => page(-1) }, "◀");
  const next = h("button", { type: "button", class: "small", "aria-label": "Next units", title: "Next units (PageDown)", onclick: () => page(1) }, "▶");
  const unitLabel = h("span", { class: "unitlabel", "aria-live": "polite" });
  const tools = h("div", { class: "toolbar" }, h("span", { class: "pager" }, prev, pageLabel, next), unitLabel,
    h("span", { class: "muted" }, "click a row or use ↑ ↓ to choose a unit"));
  const raster = h("div", { class: "plot raster-plot" });
  const rasterStatus = h("p", { class: "status" });

  const intervals = [...tree.byPath.values()].filter((n) => n.kind === "group" && ((n.neurodata_type || "").includes("TimeIntervals") || (n.path.startsWith("/intervals/") && (n.views || []).includes("table"))));
  const psthBox = h("div", {});
  const waveBox = h("div", {});
  el.append(tools, raster, rasterStatus, h("div", { class: "split" }, psthBox, waveBox));

  // -- raster ----------------------------------------------------------------------------
  const margin = { ...MARGIN, l: 80 };
  await P.newPlot(raster, [], { margin, height: 300 }, CONFIG);
  const bound = bindTime(raster, time, { onWindow: () => reloadRaster() });
  raster.on("plotly_click", (ev) => {
    const pt = ev.points?.[0];
    if (!pt) return;
    const row = Math.round(pt.y);
    const u = pageIndex * UNIT_PAGE + row;
    if (u >= 0 && u < nUnits) setUnit(u);
  });

  const loadRaster = latest(async (signal) => {
    const first = pageIndex * UNIT_PAGE;
    const last = Math.min(nUnits, first + UNIT_PAGE) - 1;
    const chosen = Array.from({ length: last - first + 1 }, (_, i) => first + i);
    pageLabel.textContent = `units ${first + 1}–${last + 1} of ${nUnits}`;
    prev.disabled = pageIndex === 0;
    next.disabled = pageIndex >= pages - 1;
    const [a, b] = time.window;
    note(rasterStatus, "Loading…", "loading");
    const resp = await api.json("spikes", { path: node.path, start: a, end: b, units: ranges(chosen) }, { signal });
    lastUnits = normalizeSpikes(resp, chosen);
    drawRaster(lastUnits, a, b);
    const total = resp.total ?? lastUnits.reduce((s, u) => s + u.count, 0);
    const cut = resp.truncated || lastUnits.some((u) => u.truncated);
    note(rasterStatus, cut
      ? resp.message || `${total.toLocaleString("en-US")} spikes: too many to draw, zoom in (rates are still shown)`
      : `${total.toLocaleString("en-US")} spikes in this window · rates are spikes per second in the window`, cut ? "error" : "info");
  });

  function reloadRaster() {
    loadRaster().catch((err) => {
      if (!isAbort(err)) note(rasterStatus, errorText(err), "error");
    });
  }

  function drawRaster(units, a, b) {
    const n = units.length;
    const height = Math.min(560, Math.max(220, n * 12 + 60));
    const rowPx = (height - margin.t - margin.b) / Math.max(n, 1);
    const xs = [];
    const ys = [];
    const sx = [];
    const sy = [];
    const rates = [];
    units.forEach((u, k) => {
      const target = u.index === unit ? [sx, sy] : [xs, ys];
      for (const t of u.times) {
        target[0].push(t);
        target[1].push(k);
      }
      rates.push((u.count ?? u.times.length) / Math.max(b - a, 1e-9));
    });
    const symbol = { symbol: "line-ns-open", size: Math.max(4, Math.min(14, rowPx * 0.85)) };
    const traces = [
      { type: "scattergl", mode: "markers", x: xs, y: ys, marker: { ...symbol, color: "#222", line: { width: 1, color: "#222" } }, hovertemplate: "%{x:.4f} s<extra></extra>", name: "spikes" },
      { type: "scattergl", mode: "markers", x: sx, y: sy, marker: { ...symbol, color: "#d62728", line: { width: 1.5, color: "#d62728" } }, hovertemplate: "%{x:.4f} s<extra>selected</extra>", name: "selected" },
      { type: "bar", orientation: "h", x: rates, y: units.map((_, k) => k), xaxis: "x2", yaxis: "y",
        marker: { color: units.map((u) => (u.index === unit ? "#d62728" : "#8fa8d8")) }, hovertemplate: "%{x:.2f} Hz<extra></extra>", name: "rate" },
    ];
    const layout = {
      margin, height, showlegend: false, dragmode: "pan", hovermode: "closest", bargap: 0.15,
      xaxis: { domain: [0, 0.86], range: [...time.window], title: { text: "time (s)", standoff: 4 }, zeroline: false },
      xaxis2: { domain: [0.885, 1], title: { text: "Hz", standoff: 4 }, fixedrange: true, zeroline: false, rangemode: "tozero" },
      yaxis: { autorange: "reversed", fixedrange: true, tickvals: units.map((_, k) => k), ticktext: units.map((u) => `unit ${u.id}`), tickfont: { size: 10 }, zeroline: false },
      shapes: bound.shapes(),
    };
    return P.react(raster, traces, layout, CONFIG);
  }

  function page(delta) {
    const np = Math.min(pages - 1, Math.max(0, pageIndex + delta));
    if (np === pageIndex) return;
    pageIndex = np;
    urlState.set({ upage: pageIndex || null });
    reloadRaster();
  }

  function setUnit(u) {
    unit = Math.min(nUnits - 1, Math.max(0, u));
    urlState.set({ unit: unit || null });
    const np = Math.floor(unit / UNIT_PAGE);
    if (np !== pageIndex) {
      pageIndex = np;
      urlState.set({ upage: pageIndex || null });
      reloadRaster();
    } else if (lastUnits.length) {
      drawRaster(lastUnits, ...time.window);
    }
    unitLabel.textContent = `selected: unit #${unit}`;
    reloadPsth();
    reloadWaves();
  }

  // -- PSTH --------------------------------------------------------------------------------
  let psthPlot = null;
  let psthStatus = null;
  let reloadPsth = () => {};
  if (!intervals.length) {
    psthBox.append(h("p", { class: "subhead" }, "PSTH"), h("p", { class: "msg info" }, "This file has no trials or other interval table to align spikes to."));
  } else {
    const wantTable = urlState.get("trials");
    let table = intervals.find((n) => n.path === wantTable) || intervals.find((n) => n.path === "/intervals/trials") || intervals[0];
    const form = h("div", { class: "toolbar" });
    psthPlot = h("div", { class: "plot psth-plot" });
    psthStatus = h("p", { class: "status" });
    psthBox.append(h("p", { class: "subhead" }, "PSTH: firing rate around each trial"), form, psthPlot, psthStatus);
    const pre = h("input", { type: "number", name: "pre", step: "0.1", min: "0", value: urlState.getNumber("pre", 0.5), "aria-label": "Seconds before" });
    const post = h("input", { type: "number", name: "post", step: "0.1", min: "0", value: urlState.getNumber("post", 1.0), "aria-label": "Seconds after" });
    const defaultBin = () => readableBin(Number(pre.value || 0) + Number(post.value || 0));
    const bin = h("input", { type: "number", name: "bin", step: "0.005", min: "0.001", value: urlState.getNumber("bin", defaultBin()), "aria-label": "Bin width in seconds" });
    let binChosen = urlState.getNumber("bin", null) !== null;
    let alignSel = null;
    let groupSel = null;

    const buildForm = async () => {
      const tmeta = await api.json("table", { path: table.path, offset: 0, limit: 1 }, { cache: true });
      const cols = tableColumns(tmeta).filter((c) => c !== "id");
      const numeric = cols.filter((c) => isNumericSummary(columnSummary(tmeta, c)) || /time/.test(c));
      const timeCols = numeric.filter((c) => /time/.test(c));
      const alignOpts = (timeCols.length ? timeCols : numeric).map((c) => [c, c]);
      const wantAlign = urlState.get("align");
      const align = alignOpts.some(([c]) => c === wantAlign) ? wantAlign : alignOpts.some(([c]) => c === "start_time") ? "start_time" : alignOpts[0]?.[0];
      const groupOpts = [["", "nothing"], ...cols.filter((c) => !/(^|_)time$|_times?$/.test(c)).map((c) => [c, c])];
      const wantGroup = urlState.get("groupby");
      const tableSel = select("trials", intervals.map((n) => [n.path, n.path]), table.path, "Interval table");
      alignSel = select("align", alignOpts, align, "Align to column");
      groupSel = select("groupby", groupOpts, groupOpts.some(([c]) => c === wantGroup) ? wantGroup : "", "Group by column");
      tableSel.addEventListener("change", async () => {
        table = intervals.find((n) => n.path === tableSel.value);
        urlState.set({ trials: table.path, align: null, groupby: null });
        await buildForm();
        reloadPsth();
      });
      for (const s of [alignSel, groupSel]) {
        s.addEventListener("change", () => {
          urlState.set({ align: alignSel.value, groupby: groupSel.value || null });
          reloadPsth();
        });
      }
      form.replaceChildren(
        h("label", {}, "table ", tableSel),
        h("label", {}, "align to ", alignSel),
        h("label", {}, "group by ", groupSel),
        h("label", {}, "from −", pre, " s"),
        h("label", {}, "to +", post, " s"),
        h("label", {}, "bin ", bin, " s"),
      );
    };
    for (const inp of [pre, post, bin]) {
      inp.addEventListener("change", () => {
        if (inp === bin) binChosen = true;
        else if (!binChosen) bin.value = String(defaultBin());
        urlState.set({ pre: pre.value, post: post.value, bin: binChosen ? bin.value : null });
        reloadPsth();
      });
    }

    const loadPsth = latest(async (signal) => {
      if (!alignSel) await buildForm();
      if (!alignSel.value) {
        note(psthStatus, `${table.path} has no time column to align to.`, "error");
        return;
      }
      note(psthStatus, "Loading…", "loading");
      const b = Number(bin.value) || defaultBin();
      const resp = await api.json("psth", {
        units_path: node.path, intervals_path: table.path, align: alignSel.value,
        group_by: groupSel.value || null, pre: pre.value, post: post.value, bin: b, units: `${unit}-${unit}`,
      }, { signal });
      const ps = normalizePsth(resp, b);
      const u = ps.units.find((x) => x.index === unit) || ps.units[0];
      if (!u) throw new Error("The PSTH came back without this unit.");
      const traces = ps.groups.map((g, i) => ({
        type: "scatter", mode: "lines", line: { shape: "hvh", color: COLORS[i % COLORS.length], width: 1.8 },
        x: ps.centers, y: (u.counts[i] || []).map((c) => c / (Math.max(g.n || 1, 1) * b)),
        name: `${groupSel.value ? `${groupSel.value} = ` : ""}${g.label}${g.n !== null ? ` (${g.n} trials)` : ""}`,
      }));
      await P.react(psthPlot, traces, {
        margin: { l: 50, r: 10, t: 10, b: 40 }, height: 300, hovermode: "x",
        legend: { orientation: "h", y: -0.25, font: { size: 10 } },
        xaxis: { title: { text: `time from ${alignSel.value} (s)`, standoff: 4 }, zeroline: false, range: [-Number(pre.value), Number(post.value)] },
        yaxis: { title: { text: "spikes/s", standoff: 4 }, rangemode: "tozero" },
        shapes: [{ type: "line", name: "t0", xref: "x", yref: "paper", x0: 0, x1: 0, y0: 0, y1: 1, line: { color: "#444", width: 1.2, dash: "dash" } }],
        annotations: [{ x: 0, y: 1, xref: "x", yref: "paper", text: `t = 0: ${alignSel.value}`, showarrow: false, xanchor: "left", yanchor: "top", font: { size: 10, color: "#444" } }],
      }, CONFIG);
      note(psthStatus, `unit ${u.id} · ${ps.groups.reduce((s, g) => s + (g.n || 0), 0)} trials in ${ps.groups.length} group${ps.groups.length === 1 ? "" : "s"} · ${Number((b * 1000).toPrecision(4))} ms bins`, "info");
    });
    reloadPsth = () => loadPsth().catch((err) => {
      if (!isAbort(err)) note(psthStatus, errorText(err), "error");
    });
  }

  // -- waveforms -------------------------------------------------------------------------
  const hasWaves = node.children?.some((c) => /waveform/.test(c.name));
  let reloadWaves = () => {};
  if (hasWaves) {
    const wavePlot = h("div", { class: "plot wave-plot" });
    const waveStatus = h("p", { class: "status" });
    waveBox.append(h("p", { class: "subhead" }, "Mean waveform"), wavePlot, waveStatus);
    const loadWaves = latest(async (signal) => {
      note(waveStatus, "Loading…", "loading");
      const resp = await api.json("waveforms", { path: node.path, units: `${unit}-${unit}` }, { signal });
      const u = (resp.units || []).find((x) => (x.index ?? unit) === unit) || (resp.units || [])[0];
      const chans = u ? normalizeWaveform(u) : [];
      if (!chans.length) {
        note(waveStatus, "No waveform for this unit.", "info");
        return;
      }
      const rate = Number(resp.sampling_rate ?? resp.rate ?? 0);
      const { factor, label: yLabel } = displayUnit(resp.unit || u.unit || "volts");
      // the channel with the largest peak-to-peak amplitude is drawn on top, thicker
      const ptp = chans.map((c) => Math.max(...c) - Math.min(...c));
      const peak = ptp.indexOf(Math.max(...ptp));
      const x = chans[0].map((_, i) => (rate ? (i / rate) * 1000 : i));
      const labels = u.electrodes || u.channels || resp.channels || null;
      const order = [...chans.keys()].filter((k) => k !== peak).concat([peak]);
      const traces = order.map((k) => ({
        type: "scatter", mode: "lines", x, y: chans[k].map((v) => v * factor),
        line: { width: k === peak ? 2.4 : 1.2, color: k === peak ? "#d62728" : OTHERS[k % OTHERS.length] },
        opacity: k === peak ? 1 : 0.7,
        name: labels ? `electrode ${labels[k]}` : `channel ${k}`,
        hovertemplate: `${labels ? `electrode ${labels[k]}` : `channel ${k}`}: %{y:.3g} ${yLabel}<extra></extra>`,
      }));
      await P.react(wavePlot, traces, {
        margin: { l: 56, r: 10, t: 10, b: 40 }, height: 300, showlegend: false, hovermode: "closest",
        xaxis: { title: { text: rate ? "time (ms)" : "sample", standoff: 4 }, zeroline: false },
        yaxis: { zeroline: true, zerolinecolor: "#ddd", title: { text: yLabel, standoff: 4 } },
      }, CONFIG);
      note(waveStatus, `unit ${u.id ?? unit} · ${chans.length} channels overlaid, red: the largest (${labels ? `electrode ${labels[peak]}` : `channel ${peak}`})`, "info");
    });
    reloadWaves = () => loadWaves().catch((err) => {
      if (!isAbort(err)) note(waveStatus, errorText(err), "error");
    });
  } else {
    waveBox.append(h("p", { class: "subhead" }, "Mean waveform"), h("p", { class: "msg info" }, "This units table holds no waveforms."));
  }

  const resize = new ResizeObserver(debounce(() => reloadRaster(), 250));
  resize.observe(raster);
  unitLabel.textContent = `selected: unit #${unit}`;
  reloadRaster();
  reloadPsth();
  reloadWaves();

  return {
    page,
    select(delta) {
      setUnit(unit + delta);
    },
    destroy() {
      resize.disconnect();
      bound.unsubscribe();
      for (const d of el.querySelectorAll(".js-plotly-plot")) P.purge(d);
    },
  };
}

