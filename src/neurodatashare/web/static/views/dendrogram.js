// The dendrogram view: neurites laid flat, x by tree order, y by path distance.
// Data: GET explore/dendrogram (docs/explorer-api.md).
import { whenPlotly, KIND_COLOURS, KIND_NAMES, card, endpoint, getJSON, plotDiv, sections } from "./lib/common.js";

async function init(section) {
  const { say } = card(section, "Dendrogram");
  let data;
  try {
    data = await getJSON(endpoint(section, "dendrogram"));
  } catch (e) {
    say(`The dendrogram cannot be drawn: ${e.message}`, "error");
    return;
  }
  if (!data.sections) {
    say("This file has no neurites to lay out.", "muted");
    return;
  }
  const big = data.traces.reduce((n, t) => n + t.x.length, 0) > 20000;
  const traces = data.traces.map((t) => ({
    type: big ? "scattergl" : "scatter",
    mode: "lines",
    name: `${KIND_NAMES[t.type] || t.type} (${t.sections})`,
    x: t.x,
    y: t.y,
    line: { color: KIND_COLOURS[t.type] || "#888", width: 1 },
    hoverinfo: "name+y",
  }));
  const div = plotDiv(section, "dendrogram-plot", 420);
  await (await whenPlotly()).newPlot(
    div,
    traces,
    {
      margin: { l: 60, r: 10, t: 10, b: 40 },
      xaxis: { title: { text: `tips in tree order (${data.leaves})` }, showticklabels: false, zeroline: false },
      yaxis: { title: { text: `path distance (${data.units})` }, rangemode: "tozero" },
    },
    { responsive: true, displaylogo: false },
  );
  say(`${data.sections.toLocaleString()} neurite sections, ${data.leaves.toLocaleString()} tips; longest path ${data.max_path.toLocaleString()} ${data.units}.`, "muted small");
  section.append(section.querySelector(".msg"));
}

for (const section of sections("dendrogram")) init(section);
