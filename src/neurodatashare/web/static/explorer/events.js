// Events: the times of an event series (licks, rewards, TTLs, ndx-events, an event table)
// as ticks on a timeline, and the on/off intervals of an IntervalSeries as shaded spans,
// with each event's value on hover and a count per window.

import { plotly, CONFIG, MARGIN, bindTime, fmtTime, fmtNumber } from "./plot.js";
import { h, note, errorText, isAbort, latest, debounce, readable } from "./ui.js";

const COLOR = "#7a4a00";

export async function mount({ el, node, api, time }) {
  const P = plotly();
  const first = await api.json("events", { path: node.path }, { cache: true });
  const start = Number(first.t_start);
  const end = Number(first.t_end);
  time.addExtent(start, end > start ? end : start + 1);
  const plot = h("div", { class: "plot events-plot" });
  const status = h("p", { class: "status" });
  el.append(plot, status);
  const margin = { ...MARGIN, l: 80 };
  const label = node.name;
  await P.newPlot(plot, [], { margin, height: 170 }, CONFIG);
  let spans = [];
  const extraShapes = () => spans.map(([a, b]) => ({
    type: "rect", xref: "x", yref: "paper", x0: a, x1: b > a ? b : a + 1e-3, y0: 0.15, y1: 0.85,
    fillcolor: "rgba(122, 74, 0, 0.25)", line: { color: COLOR, width: 1 }, layer: "below",
  }));
  const bound = bindTime(plot, time, { onWindow: () => reload(), extraShapes });

  const load = latest(async (signal) => {
    const [a, b] = time.window;
    note(status, "Loading…", "loading");
    const resp = await api.json("events", { path: node.path, start: a, end: b }, { signal });
    const intervals = resp.kind === "intervals" || Array.isArray(resp.intervals) ? resp.intervals || [] : [];
    spans = intervals;
    const t = resp.kind === "intervals" ? intervals.map((q) => q[0]) : resp.times || [];
    const values = Array.isArray(resp.values) ? resp.values.map(readable) : null;
    const hover = resp.kind === "intervals"
      ? intervals.map((q) => `${fmtNumber(q[0])}–${fmtNumber(q[1])} s (${fmtNumber(q[1] - q[0])} s)`)
      : t.map((x, i) => `${fmtNumber(x)} s${values ? ` · ${values[i]}` : ""}`);
    const traces = [{
      type: "scatter", mode: "markers", x: t, y: t.map(() => label), customdata: hover,
      marker: { symbol: "line-ns-open", size: 28, color: COLOR, line: { width: 2, color: COLOR } },
      hovertemplate: "%{customdata}<extra></extra>",
    }];
    await P.react(plot, traces, {
      margin, height: 170, showlegend: false, dragmode: "pan", hovermode: "closest",
      xaxis: { range: [...time.window], title: { text: "time (s)", standoff: 4 }, zeroline: false },
      yaxis: { fixedrange: true, type: "category", showticklabels: false, title: { text: resp.kind === "intervals" ? "intervals" : "events", standoff: 2 } },
      shapes: bound.shapes(),
    }, CONFIG);
    const what = resp.kind === "intervals" ? "intervals" : "events";
    if (resp.truncated) {
      note(status, `${(resp.in_window ?? 0).toLocaleString("en-US")} ${what} in this window: too many to draw, zoom in.`, "error");
    } else {
      note(status, `${(resp.in_window ?? t.length).toLocaleString("en-US")} ${what} between ${fmtTime(a)} and ${fmtTime(b)} · ${resp.total} time stamps in all, ${fmtTime(start)} to ${fmtTime(end)}`, "info");
    }
  });

  function reload() {
    load().catch((err) => {
      if (!isAbort(err)) note(status, errorText(err), "error");
    });
  }
  const resize = new ResizeObserver(debounce(() => reload(), 250));
  resize.observe(plot);
  reload();
  return {
    destroy() {
      resize.disconnect();
      bound.unsubscribe();
      P.purge(plot);
    },
  };
}
