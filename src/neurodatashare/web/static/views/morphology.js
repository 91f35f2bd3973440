// The morphology view: a reconstruction (SWC, Neurolucida, a NeuroML cell) in 3D, coloured by
// neurite type or by branch order. Data: GET explore/morphology?format=binary (int16 points
// and section arrays, formats/swc_binary.py; docs/explorer-api.md), drawn by lib/lines3d.js
// as one buffer of line segments, so that 100,000 points draw in one WebGL call.
import { KIND_COLOURS, KIND_NAMES, card, endpoint, sections } from "./lib/common.js";
import { linePlot } from "./lib/lines3d.js";

const VIRIDIS = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];

function rgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function viridis(t) {
  const x = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  return VIRIDIS[i].map((a, k) => Math.round(a + (VIRIDIS[i + 1][k] - a) * f));
}

async function fetchBody(url) {
  const r = await fetch(url, { credentials: "same-origin" });
  if (!r.ok) {
    let detail = r.statusText;
    try {
      const body = await r.json();
      if (body && typeof body.detail === "string") detail = body.detail;
    } catch {
      // not JSON: keep the status text
    }
    throw new Error(detail || `HTTP ${r.status}`);
  }
  return r.arrayBuffer();
}

// The body's header and typed arrays (layout in formats/swc_binary.py).
export function decode(buffer) {
  const bytes = new Uint8Array(buffer);
  if (String.fromCharCode(...bytes.subarray(0, 4)) !== "NDSM") throw new Error("not a morphology");
  const length = new DataView(buffer).getUint32(4, true);
  const head = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length)));
  const view = (Type, name) => {
    const [start, size] = head.arrays[name];
    return new Type(buffer, start, size / Type.BYTES_PER_ELEMENT);
  };
  return {
    head,
    xyz: view(Int16Array, "xyz"),
    offsets: view(Uint32Array, "offsets"),
    kind: view(Uint8Array, "kind"),
    order: view(Uint16Array, "order"),
  };
}

// Segment ends (two vertices per step within a section) and the soma's points.
function geometry(cell) {
  const { xyz, offsets, kind } = cell;
  const soma = cell.head.kinds.indexOf("soma");
  let segments = 0;
  let dots = 0;
  for (let s = 0; s + 1 < offsets.length; s += 1) {
    const n = offsets[s + 1] - offsets[s];
    segments += Math.max(0, n - 1);
    if (kind[s] === soma || n === 1) dots += n;
  }
  const lines = new Int16Array(segments * 6);
  const lineSection = new Uint32Array(segments * 2);
  const dotsXYZ = new Int16Array(dots * 3);
  const dotSection = new Uint32Array(dots);
  let v = 0;
  let d = 0;
  for (let s = 0; s + 1 < offsets.length; s += 1) {
    const a = offsets[s];
    const b = offsets[s + 1];
    for (let i = a; i + 1 < b; i += 1) {
      lines.set(xyz.subarray(i * 3, i * 3 + 6), v * 3);
      lineSection[v] = s;
      lineSection[v + 1] = s;
      v += 2;
    }
    if (kind[s] === soma || b - a === 1) {
      dotsXYZ.set(xyz.subarray(a * 3, b * 3), d * 3);
      dotSection.fill(s, d, d + b - a);
      d += b - a;
    }
  }
  return { lines, lineSection, dots: dotsXYZ, dotSection, segments };
}

function colours(cell, perVertexSection, by) {
  const { kind, order } = cell;
  const names = cell.head.kinds;
  const table = names.map((k) => rgb(KIND_COLOURS[k] || "#888888"));
  const top = Math.max(1, cell.head.max_order);
  const out = new Uint8Array(perVertexSection.length * 3);
  for (let i = 0; i < perVertexSection.length; i += 1) {
    const s = perVertexSection[i];
    const c = by === "order" && names[kind[s]] !== "soma" ? viridis(order[s] / top) : table[kind[s]];
    out[i * 3] = c[0];
    out[i * 3 + 1] = c[1];
    out[i * 3 + 2] = c[2];
  }
  return out;
}

function legend(section, cell, by) {
  let list = section.querySelector(".morphology-legend");
  if (!list) {
    list = document.createElement("ul");
    list.className = "morphology-legend";
    list.style.cssText = "list-style:none;display:flex;gap:1em;flex-wrap:wrap;padding:0;margin:0.3em 0";
  }
  list.replaceChildren();
  const item = (background, text) => {
    const li = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.style.cssText = `display:inline-block;width:1.6em;height:0.7em;margin-right:0.35em;background:${background}`;
    li.append(swatch, text);
    list.append(li);
  };
  if (by === "order") {
    const stops = VIRIDIS.map((c) => `rgb(${c.join(",")})`).join(",");
    item(`linear-gradient(to right,${stops})`, `branch order 0 to ${cell.head.max_order}`);
  } else {
    for (const [kind, count] of Object.entries(cell.head.per_kind)) {
      item(KIND_COLOURS[kind] || "#888", `${KIND_NAMES[kind] || kind} (${count.toLocaleString()})`);
    }
  }
  return list;
}

async function init(section) {
  const { say } = card(section, "Morphology");
  const t0 = performance.now();
  let cell;
  try {
    cell = decode(await fetchBody(endpoint(section, "morphology", { format: "binary" })));
  } catch (e) {
    say(`The morphology cannot be drawn: ${e.message}`, "error");
    return;
  }
  const fetched = performance.now();
  const data = cell.head;
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
  section.append(legend(section, cell, "type"));
  const div = document.createElement("div");
  div.className = "morphology-plot";
  div.style.cssText = "width:100%;height:560px;position:relative";
  section.append(div);
  const shape = geometry(cell);
  let plot;
  try {
    plot = linePlot(div, {
      lines: shape.lines,
      lineColours: colours(cell, shape.lineSection, "type"),
      dots: shape.dots,
      dotColours: colours(cell, shape.dotSection, "type"),
    });
  } catch (e) {
    say(`The morphology cannot be drawn: ${e.message}`, "error");
    return;
  }
  plot.draw();
  plot.gl.finish();
  // when the page had its first 3D drawing, for the browser tests and bench/morphology_draw.py
  const drawn = performance.now();
  section.dataset.fetchMs = String(Math.round(fetched - t0));
  section.dataset.drawMs = String(Math.round(drawn - fetched));
  section.dataset.drawnAt = String(Math.round(drawn));
  plot.canvas.dataset.segments = String(shape.segments);
  plot.canvas.dataset.colour = "type";
  plot.canvas.ndsPixels = () => plot.pixels();
  select.addEventListener("change", () => {
    plot.setColours(
      colours(cell, shape.lineSection, select.value),
      colours(cell, shape.dotSection, select.value),
    );
    legend(section, cell, select.value);
    plot.canvas.dataset.colour = select.value;
  });
  let text = `${data.points.toLocaleString()} points in ${data.sections.toLocaleString()} sections (${data.source}); drag to rotate, scroll to zoom, double-click to reset.`;
  if (data.decimated) {
    text += ` Decimated for drawing: every ${data.decimation}th point of each section, ${data.drawn_points.toLocaleString()} drawn (forks and tips kept).`;
  }
  if (data.note) text += ` ${data.note}`;
  say(text, "muted small");
  section.append(section.querySelector(".msg"));
}

for (const section of sections("morphology")) init(section);
