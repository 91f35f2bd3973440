// The dot plot of an AnnData file: chosen genes against the groups of an obs column; a
// dot's size is the fraction of the group's cells expressing the gene, its colour the mean.
import { el, fileSummary, geneInput, getJSON, groupColumns, ready, say, whenPlotly } from "./lib/expression.js";

const DEFAULT_GENES = 6;
const MAX_DOT = 24; // pixels across the dot of a gene every cell of the group expresses

async function start(section) {
  const Plotly = await whenPlotly();
  const summary = await fileSummary(section);
  const groups = groupColumns(summary);
  const groupSelect = el("select", { "aria-label": "Group the cells by" });
  for (const g of groups) groupSelect.append(el("option", { value: g, text: g }));
  const gene = geneInput(section, "dotplot-genes", "Genes, comma-separated");
  gene.input.size = 40;
  const draw = el("button", { type: "button", class: "small" }, "Draw");
  const status = el("p", { class: "msg small loading", role: "status" });
  const plot = el("div", { class: "dotplot-plot", style: "width:100%;height:420px" });
  section.replaceChildren(
    el("h2", { text: "Dot plot" }),
    el("div", { class: "controls" }, gene.input, gene.list, " ", el("label", {}, "by ", groupSelect), " ", draw),
    status, plot,
  );
  if (!groups.length) {
    say(status, "obs has no column of categories to group the cells by.");
    return;
  }
  try {
    const first = await getJSON(section, "genes", { q: "", limit: DEFAULT_GENES });
    gene.input.value = first.genes.map((g) => g.symbol || g.name).join(",");
  } catch (err) {
    say(status, err.message, "error");
    return;
  }

  async function load() {
    say(status, "Computing the dot plot…", "loading");
    let out;
    try {
      out = await getJSON(section, "dotplot", { genes: gene.input.value, group: groupSelect.value });
    } catch (err) {
      say(status, err.message, "error");
      return;
    }
    const x = [], y = [], size = [], color = [], text = [];
    out.genes.forEach((g, gi) => {
      out.groups.forEach((group, ki) => {
        const f = out.fraction[gi][ki] ?? 0, m = out.mean[gi][ki] ?? 0;
        x.push(g); y.push(group); size.push(Math.max(2, Math.sqrt(f) * MAX_DOT)); color.push(m);
        text.push(`${g} in ${group} (${out.group_sizes[ki]} cells): ${(f * 100).toFixed(1)}% express, mean ${m.toPrecision(3)}`);
      });
    });
    const trace = {
      type: "scatter", mode: "markers", x, y, text, hoverinfo: "text",
      marker: { size, color, colorscale: "Reds", showscale: true, line: { width: 0.5, color: "#555" }, colorbar: { title: { text: "mean" } } },
    };
    const height = Math.max(260, 60 + out.groups.length * 28);
    plot.style.height = `${height}px`;
    await Plotly.react(plot, [trace], {
      margin: { l: 140, r: 20, t: 10, b: 80 },
      xaxis: { type: "category", title: { text: "gene" } },
      yaxis: { type: "category", title: { text: out.group }, autorange: "reversed" },
    }, { responsive: true, displaylogo: false });
    say(status, `${out.genes.length} genes × ${out.groups.length} groups of ${out.group}; dot size: fraction of cells expressing, colour: mean expression.`);
    section.dataset.state = "ready";
  }

  draw.addEventListener("click", load);
  groupSelect.addEventListener("change", load);
  gene.input.addEventListener("keydown", (e) => { if (e.key === "Enter") load(); });
  await load();
}

ready(() => {
  for (const section of document.querySelectorAll('section[data-view="dotplot"]')) {
    start(section).catch((err) => {
      section.replaceChildren(el("p", { class: "msg error", role: "alert", text: `The dot plot failed: ${err.message}` }));
    });
  }
});
