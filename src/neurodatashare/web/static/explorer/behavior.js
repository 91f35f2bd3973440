// Behaviour: the 2-D trajectory of a SpatialSeries coloured by time, with the cursor's
// position marked; speed over time; events (licks, rewards...) and trials on a timeline.

import { timesOf } from "./api.js";
import { plotly, CONFIG, COLORS, MARGIN, bindTime, plotWidth, fmtTime, seriesExtent, MAX_WIDTH } from "./plot.js";
import { h, note, errorText, isAbort, latest, debounce } from "./ui.js";
import { allRows } from "./rows.js";
import { LIMITS } from "./limits.js";

const MAX_EVENT_SERIES = LIMITS.EVENT_SERIES;

export async function mount({ el, node, api, time, tree }) {
  const P = plotly();
  const info = await api.series(node.path);
  const [start, end] = seriesExtent(info);
  time.addExtent(start, end);
  const unit = info.unit || "";
  const nodes = [...tree.byPath.values()];
  const eventNodes = nodes.filter((n) => (n.views || []).includes("events") && n.path !== node.path).slice(0, MAX_EVENT_SERIES);
  const trialsNode = nodes.find((n) => n.path === "/intervals/trials") || null;

  const traj = h("div", { class: "plot trajectory-plot" });
  const trajStatus = h("p", { class: "status" });
  const timeline = h("div", { class: "plot timeline-plot" });
  const tlStatus = h("p", { class: "status" });
  el.append(h("div", { class: "split" },
    h("div", {}, h("p", { class: "subhead" }, "Trajectory in the window (colour: time)"), traj, trajStatus),
    h("div", {}, h("p", { class: "subhead" }, "Speed, events and trials"), timeline, tlStatus)));

  await P.newPlot(traj, [], { margin: { l: 50, r: 10, t: 10, b: 40 }, height: 360 }, CONFIG);
  const tlMargin = { ...MARGIN, l: 80 };
  await P.newPlot(timeline, [], { margin: tlMargin, height: 360 }, CONFIG);
  let data = null;
  let trials = null;
  const events = new Map();

  const extraShapes = () => {
    if (!trials || !time.window) return [];
    const [a, b] = time.window;
    return trials.filter((r) => r.stop_time >= a && r.start_time <= b).map((r, i) => ({
      type: "rect", xref: "x", yref: "y2 domain", x0: r.start_time, x1: r.stop_time, y0: 0, y1: 1,
      fillcolor: i % 2 ? "#dde6f7" : "#e9eef8", line: { width: 0 }, layer: "below",
    }));
  };
  const bound = bindTime(timeline, time, { onWindow: () => reload(), extraShapes });
  const unsubscribe = time.subscribe((ev) => {
    if (ev.what.has("cursor") && data) drawCursor();
  });

  function nearest(t) {
    if (!data) return -1;
    const ts = data.t;
    let lo = 0;
    let hi = ts.length - 1;
    if (hi < 0) return -1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (ts[mid] < t) lo = mid;
      else hi = mid;
    }
    return Math.abs(ts[lo] - t) <= Math.abs(ts[hi] - t) ? lo : hi;
  }

  function drawCursor() {
    const i = nearest(time.cursor);
    if (i < 0 || !traj.data || traj.data.length < 3) return;
    P.restyle(traj, { x: [[data.x[i]]], y: [[data.y[i]]] }, [2]);
  }

  const load = latest(async (signal) => {
    const [a, b] = time.window;
    const s = Math.max(a, start);
    const e = Math.min(b, end);
    if (!(e > s)) {
      note(trajStatus, `Nothing in this window: the series runs from ${fmtTime(start)} to ${fmtTime(end)}.`, "info");
      return;
    }
    note(trajStatus, "Loading…", "loading");
    // a trajectory needs paired x/y samples, so ask for raw samples whenever they fit
    const expected = info.rate ? (e - s) * info.rate : (info.n_samples * (e - s)) / Math.max(info.duration || 1, 1e-9);
    const width = Math.min(MAX_WIDTH, Math.max(plotWidth(traj, { l: 50, r: 10 }), Math.ceil(expected / 2) + 1));
    const channels = info.n_channels >= 2 ? "0-1" : "0";
    const win = await api.binary("window", { path: node.path, start: s, end: e, width, channels }, { signal });
    const nC = win.shape[1] || 1;
    const n = win.shape[0];
    const mm = win.meta.kind === "minmax";
    const val = (i, c) => (mm ? (win.data[(i * nC + c) * 2] + win.data[(i * nC + c) * 2 + 1]) / 2 : win.data[i * nC + c]);
    const t = Array.from(timesOf(win), (x) => (mm ? x + win.meta.dt / 2 : x));
    const x = Array.from({ length: n }, (_, i) => val(i, 0));
    const y = nC > 1 ? Array.from({ length: n }, (_, i) => val(i, 1)) : t;
    data = { t, x, y };
    const traces = [
      { type: "scattergl", mode: "lines", x, y, line: { color: "#c8cdd6", width: 1 }, hoverinfo: "skip" },
      { type: "scattergl", mode: "markers", x, y, marker: { size: 4, color: t, colorscale: "Viridis", colorbar: { thickness: 8, title: { text: "s", side: "right" } } },
        hovertemplate: "%{marker.color:.2f} s<br>(%{x:.3g}, %{y:.3g})<extra></extra>" },
      { type: "scattergl", mode: "markers", x: [], y: [], marker: { size: 13, color: "#e8590c", line: { color: "#fff", width: 2 } }, hoverinfo: "skip" },
    ];
    await P.react(traj, traces, {
      margin: { l: 50, r: 10, t: 10, b: 40 }, height: 360, showlegend: false, hovermode: "closest",
      xaxis: { title: { text: `x (${unit})`, standoff: 4 }, zeroline: false },
      yaxis: nC > 1 ? { title: { text: `y (${unit})`, standoff: 4 }, zeroline: false, scaleanchor: "x" } : { title: { text: "time (s)" } },
    }, CONFIG);
    drawCursor();
    note(trajStatus, `${n.toLocaleString("en-US")} ${mm ? "blocks (mean of min/max)" : "samples"} from ${fmtTime(s)} to ${fmtTime(e)}`, "info");
    await drawTimeline(signal);
  });

  async function drawTimeline(signal) {
    const [a, b] = time.window;
    if (trialsNode && trials === null) {
      try {
        trials = (await allRows(api, trialsNode.path, { signal, max: LIMITS.ALL_ROWS_MAX })).filter((r) => Number.isFinite(r.start_time) && Number.isFinite(r.stop_time));
      } catch (err) {
        if (isAbort(err)) throw err;
        trials = [];
        note(tlStatus, `Trials: ${errorText(err)}`, "error");
      }
    }
    for (const ev of eventNodes) {
      try {
        const w = await api.json("events", { path: ev.path, start: a, end: b }, { signal });
        const times = w.kind === "intervals" ? (w.intervals || []).map((q) => q[0]) : w.times || [];
        events.set(ev.path, { times, error: null });
      } catch (err) {
        if (isAbort(err)) throw err;
        events.set(ev.path, { times: [], error: errorText(err) });
      }
    }
    const speed = [];
    const st = [];
    if (data && data.t.length > 1 && info.n_channels >= 2) {
      for (let i = 1; i < data.t.length; i++) {
        const dt = data.t[i] - data.t[i - 1];
        if (dt <= 0) continue;
        speed.push(Math.hypot(data.x[i] - data.x[i - 1], data.y[i] - data.y[i - 1]) / dt);
        st.push((data.t[i] + data.t[i - 1]) / 2);
      }
    }
    const k = 3;
    const smooth = speed.map((_, i) => {
      let s = 0;
      let c = 0;
      for (let j = Math.max(0, i - k); j <= Math.min(speed.length - 1, i + k); j++) {
        s += speed[j];
        c += 1;
      }
      return s / c;
    });
    const names = eventNodes.map((n) => n.name);
    const traces = [
      { type: "scattergl", mode: "lines", x: st, y: smooth, line: { color: "#1f77b4", width: 1.3 }, name: "speed", hovertemplate: "%{y:.3g}<extra>speed</extra>" },
      ...eventNodes.map((n, i) => ({
        type: "scattergl", mode: "markers", x: events.get(n.path)?.times || [], y: (events.get(n.path)?.times || []).map(() => names[i]),
        yaxis: "y2", marker: { symbol: "line-ns-open", size: 14, color: COLORS[(i + 1) % COLORS.length], line: { width: 2, color: COLORS[(i + 1) % COLORS.length] } },
        name: n.name, hovertemplate: `${n.name} %{x:.3f} s<extra></extra>`,
      })),
    ];
    if (!eventNodes.length) traces.push({ type: "scattergl", mode: "markers", x: [], y: [], yaxis: "y2" });
    await P.react(timeline, traces, {
      margin: tlMargin, height: 360, showlegend: false, dragmode: "pan", hovermode: "closest",
      xaxis: { range: [...time.window], title: { text: "time (s)", standoff: 4 }, zeroline: false },
      yaxis: { domain: [0.42, 1], fixedrange: true, title: { text: `speed (${unit}/s)`, standoff: 4 }, rangemode: "tozero" },
      yaxis2: { domain: [0, 0.32], fixedrange: true, type: "category", categoryarray: names.length ? names : ["events"], title: { text: trialsNode ? "trials" : "", standoff: 4 } },
      shapes: bound.shapes(),
    }, CONFIG);
    const failed = [...events.entries()].filter(([, v]) => v.error);
    const nTrials = trials ? trials.filter((r) => r.stop_time >= a && r.start_time <= b).length : 0;
    note(tlStatus, failed.length
      ? `${failed[0][0]}: ${failed[0][1]}`
      : `${eventNodes.map((n) => `${n.name}: ${events.get(n.path)?.times.length ?? 0}`).join(" · ") || "no event series"}${trialsNode ? ` · ${nTrials} trials shaded` : ""}`, failed.length ? "error" : "info");
  }

  function reload() {
    load().catch((err) => {
      if (!isAbort(err)) note(trajStatus, errorText(err), "error");
    });
  }

  const resize = new ResizeObserver(debounce(() => reload(), 250));
  resize.observe(el);
  reload();
  return {
    destroy() {
      resize.disconnect();
      unsubscribe();
      bound.unsubscribe();
      for (const d of el.querySelectorAll(".js-plotly-plot")) P.purge(d);
    },
  };
}
