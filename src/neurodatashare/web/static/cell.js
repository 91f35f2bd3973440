// The cell page's first sweep: one window of the explorer API (docs/explorer-api.md).
const el = document.getElementById("sweep-plot");

async function draw() {
  const width = Math.max(200, Math.min(2000, el.clientWidth || 600));
  const q = new URLSearchParams({ path: el.dataset.path, start: "0", end: "1e9", width: String(width) });
  const r = await fetch(`/api/assets/${el.dataset.asset}/explore/window?${q}`, { credentials: "same-origin" });
  if (!r.ok) {
    el.textContent = `The sweep could not be read (${r.status}).`;
    return;
  }
  const meta = JSON.parse(r.headers.get("X-NDS-Meta"));
  const buffer = await r.arrayBuffer();
  const n = meta.shape[0];
  let offset = 0;
  let times = null;
  if (meta.times) {
    times = new Float64Array(buffer, 0, n);
    offset = n * 8;
  }
  const values = new Float32Array(buffer, offset);
  const per = meta.kind === "minmax" ? 2 * (meta.shape[1] || 1) : meta.shape[1] || 1;
  const x = [];
  const y = [];
  for (let i = 0; i < n; i++) {
    const t = times ? times[i] : meta.t0 + i * meta.dt;
    x.push(t);
    y.push(values[i * per]);
    if (meta.kind === "minmax") {
      x.push(t);
      y.push(values[i * per + 1]);
    }
  }
  window.Plotly.newPlot(
    el,
    [{ x, y, type: "scattergl", mode: "lines", line: { width: 1 }, name: el.dataset.path }],
    {
      margin: { l: 55, r: 10, t: 10, b: 40 },
      xaxis: { title: { text: "time (s)" } },
      yaxis: { title: { text: meta.unit || "" } },
      showlegend: false,
    },
    { displaylogo: false, responsive: true },
  );
  el.dataset.drawn = "true";
}

function start() {
  if (window.Plotly) draw();
  else window.addEventListener("load", draw, { once: true });
}
if (el) start();
