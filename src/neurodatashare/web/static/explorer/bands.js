// A DecompositionSeries (time x channels x bands) as a band-by-time heatmap of one channel,
// one column per pixel (block means from the server), following the shared time window.

import { plotly, CONFIG, MARGIN, bindTime, plotWidth, fmtTime } from "./plot.js";
import { h, note, errorText, isAbort, latest, debounce, select } from "./ui.js";

export async function mount({ el, node, api, time, urlState }) {
  const P = plotly();
  const probe = await api.binary("bands", { path: node.path, width: 10 });
  const m0 = probe.meta;
  time.addExtent(Number(m0.t_start), Number(m0.t_end));
  let channel = Math.min(Math.max(0, Math.floor(urlState.getNumber("band_ch", 0))), m0.n_channels - 1);
  const tools = h("div", { class: "toolbar" });
  if (m0.n_channels > 1) {
    const sel = select("band_ch", [...Array(m0.n_channels).keys()].map((c) => [c, `channel ${c}`]), channel, "Channel");
    sel.addEventListener("change", () => {
      channel = Number(sel.value);
      urlState.set({ band_ch: channel || null });
      reload();
    });
    tools.append(h("label", {}, "Show ", sel));
  }
  const plot = h("div", { class: "plot bands-plot" });
  const status = h("p", { class: "status" });
  el.append(tools, plot, status);
  const margin = { ...MARGIN, l: 120, r: 80 };
  const labels = m0.bands.map((b, i) => {
    const lim = m0.band_limits?.[i];
    return lim ? `${b} (${lim[0]}–${lim[1]} Hz)` : b;
  });
  await P.newPlot(plot, [], { margin, height: 300 }, CONFIG);
  const bound = bindTime(plot, time, { onWindow: () => reload() });

  const load = latest(async (signal) => {
    const [a, b] = time.window;
    const s = Math.max(a, m0.t_start);
    const e = Math.min(b, m0.t_end);
    if (!(e > s)) {
      note(status, `Nothing in this window: the series runs from ${fmtTime(m0.t_start)} to ${fmtTime(m0.t_end)}.`, "info");
      return;
    }
    note(status, "Loading…", "loading");
    const win = await api.binary("bands", { path: node.path, start: s, end: e, width: plotWidth(plot, margin), channel }, { signal });
    const [n, nB] = win.shape;
    const z = [];
    for (let k = 0; k < nB; k++) {
      const row = new Float32Array(n);
      for (let i = 0; i < n; i++) row[i] = win.data[i * nB + k];
      z.push(row);
    }
    const x = Array.from({ length: n }, (_, i) => win.meta.t0 + (i + 0.5) * win.meta.dt);
    const unit = [win.meta.metric, win.meta.unit && win.meta.unit !== "no unit" ? win.meta.unit : null].filter(Boolean).join(", ");
    await P.react(plot, [{
      type: "heatmap", x, y: labels, z, colorscale: "Viridis", zsmooth: false,
      colorbar: { thickness: 10, len: 0.9, title: { text: unit, side: "right" } },
      hovertemplate: "%{y}<br>%{x:.3f} s<br>%{z:.3g}<extra></extra>",
    }], {
      margin, height: 300, dragmode: "pan",
      xaxis: { range: [...time.window], title: { text: "time (s)", standoff: 4 }, zeroline: false },
      yaxis: { fixedrange: true, title: { text: "band", standoff: 2 }, tickfont: { size: 10 } },
      shapes: bound.shapes(),
    }, CONFIG);
    note(status, `${nB} bands × ${n} columns (${win.meta.samples_per_column} samples each) · channel ${channel} of ${m0.n_channels}${unit ? ` · ${unit}` : ""}`, "info");
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
