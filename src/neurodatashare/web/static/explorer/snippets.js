// Spike snippets of a SpikeEventSeries: for each channel, the snippets of the time window
// overlaid (at most LIMITS.SNIPPETS, evenly spaced, from the server) with their mean on top.

import { plotly, CONFIG, fmtTime } from "./plot.js";
import { h, note, errorText, isAbort, latest, debounce } from "./ui.js";
import { displayUnit } from "./units.js";
import { LIMITS } from "./limits.js";

const MAX_PANELS = LIMITS.SNIPPET_PANELS;
const LIMIT = LIMITS.SNIPPETS;

export async function mount({ el, node, api, time }) {
  const P = plotly();
  const first = await api.json("snippets", { path: node.path, limit: 1 }, { cache: true });
  time.addExtent(Number(first.t_start), Number(first.t_end));
  const plot = h("div", { class: "plot snippets-plot" });
  const status = h("p", { class: "status" });
  el.append(plot, status);
  const { factor, label } = displayUnit(first.unit);
  await P.newPlot(plot, [], { height: 300 }, CONFIG);

  const load = latest(async (signal) => {
    const [a, b] = time.window;
    note(status, "Loading…", "loading");
    const resp = await api.json("snippets", { path: node.path, start: a, end: b, limit: LIMIT }, { signal });
    const nC = Math.min(resp.n_channels, MAX_PANELS);
    const x = Array.from({ length: resp.n_samples }, (_, i) => i);
    const traces = [];
    const layout = {
      height: 300, showlegend: false, hovermode: "closest", margin: { l: 64, r: 10, t: 26, b: 40 },
      annotations: [],
    };
    const gap = 0.03;
    const w = (1 - gap * (nC - 1)) / Math.max(nC, 1);
    for (let c = 0; c < nC; c++) {
      const ax = c === 0 ? "" : String(c + 1);
      const rows = resp.snippets[c] || [];
      // all snippets of a channel as one trace, separated by gaps (fast to draw)
      const xs = [];
      const ys = [];
      for (const row of rows) {
        for (let i = 0; i < row.length; i++) {
          xs.push(i);
          ys.push(row[i] * factor);
        }
        xs.push(null);
        ys.push(null);
      }
      traces.push({ type: "scattergl", mode: "lines", x: xs, y: ys, xaxis: `x${ax}`, yaxis: `y${ax}`, line: { color: "rgba(90, 110, 140, 0.25)", width: 1 }, hoverinfo: "skip", name: "snippets" });
      if (resp.mean) {
        traces.push({
          type: "scatter", mode: "lines", x, y: resp.mean[c].map((v) => v * factor), xaxis: `x${ax}`, yaxis: `y${ax}`,
          line: { color: "#d62728", width: 2.2 }, name: "mean", hovertemplate: `sample %{x}: %{y:.3g} ${label}<extra>mean</extra>`,
        });
      }
      layout[`xaxis${ax}`] = { domain: [c * (w + gap), c * (w + gap) + w], title: { text: "sample", standoff: 2 }, zeroline: false, anchor: `y${ax}` };
      layout[`yaxis${ax}`] = { anchor: `x${ax}`, matches: c ? "y" : undefined, showticklabels: c === 0, zeroline: true, zerolinecolor: "#ddd", ...(c === 0 ? { title: { text: label, standoff: 2 } } : {}) };
      layout.annotations.push({ text: `channel ${resp.channel_labels[c] ?? c}`, xref: "paper", yref: "paper", x: c * (w + gap) + w / 2, y: 1.0, yanchor: "bottom", showarrow: false, font: { size: 11 } });
    }
    await P.react(plot, traces, layout, CONFIG);
    const shown = (resp.snippets[0] || []).length;
    const extra = resp.n_channels > MAX_PANELS ? ` · first ${MAX_PANELS} of ${resp.n_channels} channels` : "";
    if (!resp.in_window) {
      note(status, `No snippets between ${fmtTime(a)} and ${fmtTime(b)}: the series runs from ${fmtTime(resp.t_start)} to ${fmtTime(resp.t_end)}.`, "info");
    } else {
      note(status, `${shown} of ${resp.in_window.toLocaleString("en-US")} snippets in the window drawn · red: mean of ${resp.mean_of.toLocaleString("en-US")} · ${resp.n_events.toLocaleString("en-US")} in all${extra}`, "info");
    }
  });

  function reload() {
    load().catch((err) => {
      if (!isAbort(err)) note(status, errorText(err), "error");
    });
  }
  const unsubscribe = time.subscribe(debounce((ev) => {
    if (ev.what.has("window")) reload();
  }, 150));
  reload();
  return {
    destroy() {
      unsubscribe();
      P.purge(plot);
    },
  };
}
