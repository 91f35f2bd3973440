// The network view of a NeuroML file: populations and projections as tables, and a
// diagram (populations on a circle, an arrow per projection).
// Data: GET explore/network (docs/explorer-api.md).
import { card, endpoint, getJSON, sections } from "./lib/common.js";

const SVG = "http://www.w3.org/2000/svg";

function table(caption, columns, rows) {
  const t = document.createElement("table");
  t.className = "compact network-table";
  const c = document.createElement("caption");
  c.textContent = caption;
  t.append(c);
  const head = t.createTHead().insertRow();
  for (const [, title] of columns) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = title;
    head.append(th);
  }
  const body = t.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    for (const [key] of columns) tr.insertCell().textContent = row[key] ?? "—";
  }
  return t;
}

function svg(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

function diagram(net) {
  const pops = net.populations;
  const size = 320;
  const mid = size / 2;
  const ring = pops.length > 1 ? size / 2 - 50 : 0;
  const at = {};
  pops.forEach((p, i) => {
    const a = (2 * Math.PI * i) / pops.length - Math.PI / 2;
    at[p.id] = [mid + ring * Math.cos(a), mid + ring * Math.sin(a)];
  });
  const root = svg("svg", { viewBox: `0 0 ${size} ${size}`, width: size, height: size, class: "network-diagram", role: "img" });
  const defs = svg("defs", {});
  const marker = svg("marker", { id: `arrow-${net.id}`, viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto" });
  marker.append(svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#555" }));
  defs.append(marker);
  root.append(defs);
  for (const pr of net.projections) {
    const a = at[pr.pre];
    const b = at[pr.post];
    if (!a || !b) continue;
    if (pr.pre === pr.post) {
      const [x, y] = a;
      root.append(svg("path", { d: `M${x - 8},${y - 20} C${x - 40},${y - 70} ${x + 40},${y - 70} ${x + 8},${y - 20}`, fill: "none", stroke: "#555", "marker-end": `url(#arrow-${net.id})` }));
    } else {
      const dx = b[0] - a[0];
      const dy = b[1] - a[1];
      const len = Math.hypot(dx, dy) || 1;
      const r = 22;
      root.append(svg("line", { x1: a[0] + (dx / len) * r, y1: a[1] + (dy / len) * r, x2: b[0] - (dx / len) * r, y2: b[1] - (dy / len) * r, stroke: "#555", "marker-end": `url(#arrow-${net.id})` }));
    }
  }
  for (const p of pops) {
    const [x, y] = at[p.id];
    root.append(svg("circle", { cx: x, cy: y, r: 20, fill: "#cfe3f5", stroke: "#1f77b4" }));
    const label = svg("text", { x, y: y + 34, "text-anchor": "middle", "font-size": 11 });
    label.textContent = `${p.id} (${p.size})`;
    root.append(label);
  }
  return root;
}

async function init(section) {
  const { say } = card(section, "Network");
  let data;
  try {
    data = await getJSON(endpoint(section, "network"));
  } catch (e) {
    say(`The network cannot be shown: ${e.message}`, "error");
    return;
  }
  if (!data.networks.length) {
    say("This file defines no network.", "muted");
    return;
  }
  for (const net of data.networks) {
    const h = document.createElement("h3");
    h.textContent = `Network ${net.id || ""}`.trim();
    section.append(h);
    section.append(
      table("Populations", [["id", "population"], ["component", "cell component"], ["size", "size"]], net.populations),
    );
    section.append(
      table(
        "Projections",
        [["id", "projection"], ["pre", "from"], ["post", "to"], ["synapse", "synapse"], ["connections", "connections"]],
        net.projections,
      ),
    );
    if (net.populations.length) section.append(diagram(net));
  }
  say(`${data.networks.length} network(s).`, "muted small");
  section.append(section.querySelector(".msg"));
}

for (const section of sections("network")) init(section);
