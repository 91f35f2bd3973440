// Events: the times of an event series (licks, rewards, TTLs) as ticks on a timeline,
// with each event's value on hover and a count per window.

import { timesOf } from "./api.js";
import { plotly, CONFIG, MARGIN, bindTime, plotWidth, fmtTime, seriesExtent } from "./plot.js";
import { h, note, errorText, isAbort, latest, debounce } from "./ui.js";

export async function mount({ el, node, api, time }) {
  const P = plotly();
  const info = await api.series(node.path);
  const [start, end] = seriesExtent(info);
  time.addExtent(start, end);
  const plot = h("div", { class: "plot events-plot" });
  const status = h("p", { class: "status" });
  el.append(plot, status);
  const margin = { ...MARGIN, l: 80 };
  await P.newPlot(plot, [], { margin, height: 170 }, CONFIG);
  const bound = bindTime(plot, time, { onWindow: () => reload() });

  const load = latest(async (signal) => {
    const [a, b] = time.window;
    note(status, "Loading…", "loading");
    const win = await api.binary("window", { path: node.path, start: a, end: b, width: plotWidth(plot, margin), channels: "0" }, { signal });
    const t = Array.from(timesOf(win));
    const mm = win.meta.kind === "minmax";
    const values = Array.from({ length: win.shape[0] }, (_, i) => (mm ? win.data[2 * i + 1] : win.data[i]));
    await P.react(plot, [{
      type: "scattergl", mode: "markers", x: t, y: t.map(() => node.name), customdata: values,
      marker: { symbol: "line-ns-open", size: 28, color: "#7a4a00", line: { width: 2, color: "#7a4a00" } },
      hovertemplate: "%{x:.4f} s · value %{customdata}<extra></extra>",
    }], {
      margin, height: 170, showlegend: false, dragmode: "pan", hovermode: "closest",
      xaxis: { range: [...time.window], title: { text: "time (s)", standoff: 4 }, zeroline: false },
      yaxis: { fixedrange: true, type: "category" }, shapes: bound.shapes(),
    }, CONFIG);
    note(status, `${t.length} ${mm ? "blocks with events" : "events"} between ${fmtTime(a)} and ${fmtTime(b)} · ${info.n_samples} in all`, "info");
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
