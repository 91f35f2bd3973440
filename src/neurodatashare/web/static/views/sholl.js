// The Sholl view: crossings per radius around the soma, computed by the server; the step
// can be changed. Data: GET explore/sholl[?step=] (docs/explorer-api.md).
import { whenPlotly, card, endpoint, getJSON, plotDiv, sections } from "./lib/common.js";

async function init(section) {
  const { say } = card(section, "Sholl analysis");
  const form = document.createElement("form");
  form.className = "sholl-step";
  const label = document.createElement("label");
  label.textContent = "Step ";
  const input = document.createElement("input");
  input.type = "number";
  input.min = "0";
  input.step = "any";
  input.style.width = "7em";
  label.append(input);
  const button = document.createElement("button");
  button.type = "submit";
  button.textContent = "Count";
  form.append(label, " ", button);
  section.append(form);
  const div = plotDiv(section, "sholl-plot", 360);
  const config = { responsive: true, displaylogo: false };

  async function draw(step) {
    let data;
    try {
      data = await getJSON(endpoint(section, "sholl", step ? { step } : null));
    } catch (e) {
      say(`The Sholl profile cannot be computed: ${e.message}`, "error");
      return;
    }
    if (!data.radii.length) {
      say("This file has no neurites reaching away from the soma to count.", "muted");
      return;
    }
    if (!step) input.value = String(data.radii[0]);
    label.firstChild.textContent = `Step (${data.units}) `;
    await (await whenPlotly()).react(
      div,
      [{ type: "scatter", mode: "lines+markers", x: data.radii, y: data.crossings, name: "crossings", line: { color: "#1f77b4" } }],
      {
        margin: { l: 60, r: 10, t: 10, b: 45 },
        xaxis: { title: { text: `distance from the soma centre (${data.units})` }, rangemode: "tozero" },
        yaxis: { title: { text: "crossings" }, rangemode: "tozero" },
      },
      config,
    );
    const peak = Math.max(...data.crossings);
    say(`${data.radii.length} radii; at most ${peak} crossings, at ${data.radii[data.crossings.indexOf(peak)]} ${data.units}.`, "muted small");
    section.append(section.querySelector(".msg"));
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const step = Number(input.value);
    if (!(step > 0)) {
      say("The step must be a number above 0.", "error");
      return;
    }
    draw(step);
  });
  await draw(null);
}

for (const section of sections("sholl")) init(section);
