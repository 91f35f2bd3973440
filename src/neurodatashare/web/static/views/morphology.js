// The morphology view: a reconstruction (SWC, Neurolucida, a NeuroML cell) as a plotly
// scatter3d of lines, one trace per neurite type, coloured by type or by branch order.
// Data: GET explore/morphology (docs/explorer-api.md).
import { KIND_COLOURS, KIND_NAMES, card, endpoint, getJSON, plotDiv, sections } from "./lib/common.js";

function orderColours(trace) {
  // one value per point as sent: each section's order over its points, and its null slot
  const out = [];
  trace.lengths.forEach((n, i) => {
    for (let k = 0; k <= n; k += 1) out.push(trace.order[i]);
  });
  return out;
}

function traces(data, by) {
  return data.traces.map((t, i) => {
    const line = { width: t.type === "soma" ? 6 : 2 };
    if (by === "order") {
      Object.assign(line, {
        color: orderColours(t),
        colorscale: "Viridis",
        cmin: 0,
        cmax: Math.max(1, data.max_order),
        showscale: i === 0,
        colorbar: { title: { text: "branch order" } },
      });
    } else {
      line.color = KIND_COLOURS[t.type] || "#888";
    }
    return {
      type: "scatter3d",
      mode: t.type === "soma" ? "lines+markers" : "lines",
      name: `${KIND_NAMES[t.type] || t.type} (${t.sections})`,
      x: t.x,
      y: t.y,
      z: t.z,
      line,
      marker: { size: 3, color: KIND_COLOURS.soma },
      hoverinfo: "name",
      showlegend: by !== "order",
    };
  });
}

async function init(section) {
  const { say } = card(section, "Morphology");
  let data;
  try {
    data = await getJSON(endpoint(section, "morphology"));
  } catch (e) {
    say(`The morphology cannot be drawn: ${e.message}`, "error");
    return;
  }
  if (!data.drawn_points) {
    say("This file has no points to draw.", "muted");
    return;
  }
  const controls = document.createElement("p");
  const label = document.createElement("label");
  label.textContent = "Colour by ";
  const select = document.createElement("select");
  select.className = "morphology-colour";
  for (const [value, text] of [["type", "neurite type"], ["order", "branch order"]]) {
    const o = document.createElement("option");
    o.value = value;
    o.textContent = text;
    select.append(o);
  }
  label.append(select);
  controls.append(label);
  section.append(controls);
  const div = plotDiv(section, "morphology-plot", 560);
  const u = data.units;
  const layout = {
    margin: { l: 0, r: 0, t: 10, b: 0 },
    legend: { x: 0, y: 1 },
    scene: {
      aspectmode: "data",
      xaxis: { title: { text: `x (${u})` } },
      yaxis: { title: { text: `y (${u})` } },
      zaxis: { title: { text: `z (${u})` } },
    },
  };
  const config = { responsive: true, displaylogo: false };
  const t0 = performance.now();
  await window.Plotly.newPlot(div, traces(data, "type"), layout, config);
  // when the page had its first 3D drawing, for the browser tests and bench/multiscale.py
  section.dataset.drawMs = String(Math.round(performance.now() - t0));
  section.dataset.drawnAt = String(Math.round(performance.now()));
  select.addEventListener("change", () => {
    window.Plotly.react(div, traces(data, select.value), div.layout, config);
  });
  let text = `${data.points.toLocaleString()} points in ${data.sections.toLocaleString()} sections (${data.source}).`;
  if (data.decimated) {
    text += ` Decimated for drawing: every ${data.decimation}th point of each section, ${data.drawn_points.toLocaleString()} drawn (forks and tips kept).`;
  }
  if (data.note) text += ` ${data.note}`;
  say(text, "muted small");
  section.append(section.querySelector(".msg"));
}

for (const section of sections("morphology")) init(section);
