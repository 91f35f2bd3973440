// The slice viewer of an OME-Zarr volume: one plane (x-y, x-z or y-z) on a canvas, sliders
// for the other axes (t, and z, y or x), each channel's colour and contrast window, pan
// (drag) and zoom (wheel, + and −). It fetches only the 256-voxel tiles of the current view,
// from the pyramid level that matches the screen (the coarsest whose voxel is at most 1.1
// screen pixels, as Neuroglancer chooses), drawn over a whole-plane overview that stays
// while tiles load. Data: GET explore/volume and explore/volume/slice.png
// (docs/explorer-api.md).
import { card, endpoint, getJSON, sections } from "./lib/common.js";

const TILE = 256; // tile side in the chosen level's voxels
const SLACK = 1.1;
const MAX_CACHE = 400;
const OVERVIEW = 512;

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") e.textContent = v;
    else if (k === "class") e.className = v;
    else e.setAttribute(k, v);
  }
  e.append(...kids);
  return e;
}

function debounce(fn, ms) {
  let t = null;
  return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
}

const num = (x) => (Math.abs(x) >= 1000 || Number.isInteger(x) ? Math.round(x).toLocaleString() : x.toPrecision(3));

class Viewer {
  constructor(section, layout, say) {
    this.section = section;
    this.msg = say;
    this.layout = layout;
    this.names = layout.axes.map((a) => a.name);
    this.base = layout.levels[0];
    this.plane = layout.planes[0];
    this.index = {}; // level-0 positions on the axes off the plane (not the channel axis)
    for (const a of layout.axes) {
      if (a.type === "channel") continue;
      this.index[a.name] = Math.floor(this.base.shape[this.names.indexOf(a.name)] / 2);
    }
    if ("t" in this.index) this.index.t = 0;
    this.channels = layout.channels.map((c, i) => ({
      index: i,
      active: c.active !== false && i < 6,
      color: c.color || "FFFFFF",
      start: c.window.start,
      end: c.window.end,
      min: c.window.min,
      max: c.window.max,
    }));
    this.cache = new Map(); // url -> Image
    this.requested = new Set();
    this.build();
    this.fit();
  }

  axes() {
    const [hu, hv] = { xy: ["x", "y"], xz: ["x", "z"], yz: ["y", "z"] }[this.plane];
    const iu = this.names.indexOf(hu), iv = this.names.indexOf(hv);
    return { hu, hv, iu, iv, nu: this.base.shape[iu], nv: this.base.shape[iv],
      su: this.base.scale[iu], sv: this.base.scale[iv] };
  }

  unit(name) {
    const a = this.layout.axes.find((x) => x.name === name);
    return (a && a.unit) || "voxel";
  }

  build() {
    const s = this.section;
    const bar = el("div", { class: "volume-controls" });
    const planeSel = el("select", { class: "volume-plane", "aria-label": "Plane" });
    for (const p of this.layout.planes) planeSel.append(el("option", { value: p, text: `${p[0]}-${p[1]}` }));
    planeSel.addEventListener("change", () => { this.plane = planeSel.value; this.sliders(); this.fit(); });
    bar.append(el("label", { text: "Plane " }, planeSel));
    for (const [act, text, title] of [["in", "+", "Zoom in"], ["out", "−", "Zoom out"], ["fit", "fit", "Whole plane"]]) {
      const b = el("button", { type: "button", class: "small", "data-act": act, title, text });
      b.addEventListener("click", () => (act === "fit" ? this.fit() : this.zoomBy(act === "in" ? 2 : 0.5)));
      bar.append(b);
    }
    this.sliderBox = el("div", { class: "volume-sliders" });
    this.channelBox = el("div", { class: "volume-channels" });
    this.canvas = el("canvas", { class: "volume-canvas", tabindex: "0", "aria-label": "Volume slice; drag to pan, scroll to zoom" });
    this.canvas.style.cssText = "width:100%;height:520px;background:#000;cursor:grab;touch-action:none;display:block";
    this.info = el("p", { class: "muted small volume-info" });
    s.append(bar, this.sliderBox, this.channelBox, this.canvas, this.info);
    this.sliders();
    this.channelControls();
    this.pointer();
    new ResizeObserver(() => this.draw()).observe(this.canvas);
  }

  sliders() {
    this.sliderBox.replaceChildren();
    const { hu, hv } = this.axes();
    for (const a of this.layout.axes) {
      if (a.type === "channel" || a.name === hu || a.name === hv) continue;
      const n = this.base.shape[this.names.indexOf(a.name)];
      if (n <= 1) continue;
      const input = el("input", { type: "range", min: "0", max: String(n - 1), step: "1",
        value: String(this.index[a.name]), class: `volume-axis`, "data-axis": a.name, "aria-label": `${a.name} index` });
      const out = el("output", { text: String(this.index[a.name]) });
      const redraw = debounce(() => this.refresh(), 120);
      input.addEventListener("input", () => { this.index[a.name] = Number(input.value); out.textContent = input.value; redraw(); });
      const label = el("label", { text: `${a.name} ` }, input, " ", out, ` / ${n - 1}`);
      label.style.marginRight = "2em";
      this.sliderBox.append(label);
    }
  }

  channelControls() {
    const redraw = debounce(() => this.refresh(), 250);
    this.channels.forEach((c, i) => {
      const label = this.layout.channels[i].label || `channel ${i}`;
      const on = el("input", { type: "checkbox", class: "volume-channel-on", "aria-label": `Show ${label}` });
      on.checked = c.active;
      const colour = el("input", { type: "color", value: `#${c.color.toLowerCase()}`, "aria-label": `${label} colour` });
      const step = String((c.max - c.min) / 1000 || 1);
      const lo = el("input", { type: "range", min: String(c.min), max: String(c.max), step, value: String(c.start), class: "volume-window-start", "aria-label": `${label} window start` });
      const hi = el("input", { type: "range", min: String(c.min), max: String(c.max), step, value: String(c.end), class: "volume-window-end", "aria-label": `${label} window end` });
      const text = el("span", { class: "small muted" });
      const show = () => { text.textContent = ` ${num(c.start)} – ${num(c.end)}`; };
      show();
      on.addEventListener("change", () => { c.active = on.checked; redraw(); });
      colour.addEventListener("input", () => { c.color = colour.value.slice(1).toUpperCase(); redraw(); });
      const win = () => {
        let a = Number(lo.value), b = Number(hi.value);
        if (b <= a) { b = a + Number(step); hi.value = String(b); }
        c.start = a; c.end = b; show(); redraw();
      };
      lo.addEventListener("input", win);
      hi.addEventListener("input", win);
      this.channelBox.append(el("div", { class: "volume-channel" }, on, " ", colour, ` ${label} `, lo, hi, text));
    });
  }

  pointer() {
    const c = this.canvas;
    let drag = null;
    c.addEventListener("pointerdown", (e) => { drag = { x: e.clientX, y: e.clientY, cu: this.cu, cv: this.cv }; c.setPointerCapture(e.pointerId); c.style.cursor = "grabbing"; });
    c.addEventListener("pointermove", (e) => {
      if (!drag) return;
      this.cu = drag.cu - (e.clientX - drag.x) / this.zoom;
      this.cv = drag.cv - (e.clientY - drag.y) / this.zoom;
      this.draw();
    });
    const end = () => { drag = null; c.style.cursor = "grab"; };
    c.addEventListener("pointerup", end);
    c.addEventListener("pointercancel", end);
    c.addEventListener("wheel", (e) => {
      e.preventDefault();
      const r = c.getBoundingClientRect();
      this.zoomBy(e.deltaY < 0 ? 1.25 : 0.8, e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
    c.addEventListener("keydown", (e) => {
      const step = 50 / this.zoom;
      const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
      if (moves[e.key]) { this.cu += moves[e.key][0]; this.cv += moves[e.key][1]; this.draw(); e.preventDefault(); }
      else if (e.key === "+" || e.key === "=") this.zoomBy(2);
      else if (e.key === "-") this.zoomBy(0.5);
    });
  }

  // view: centre (cu, cv) in physical units of the plane's axes; zoom = screen px per unit
  fit() {
    const { nu, nv, su, sv } = this.axes();
    const w = this.canvas.clientWidth || 800, h = this.canvas.clientHeight || 520;
    this.cu = (nu * su) / 2;
    this.cv = (nv * sv) / 2;
    this.zoom = Math.min(w / (nu * su), h / (nv * sv)) * 0.98;
    this.refresh();
  }

  zoomBy(f, px, py) {
    const w = this.canvas.clientWidth, h = this.canvas.clientHeight;
    const x = px ?? w / 2, y = py ?? h / 2;
    const u = this.cu + (x - w / 2) / this.zoom, v = this.cv + (y - h / 2) / this.zoom;
    this.zoom *= f;
    this.cu = u - (x - w / 2) / this.zoom;
    this.cv = v - (y - h / 2) / this.zoom;
    this.draw();
  }

  level() {
    const { iu, iv, su, sv } = this.axes();
    const pu = 1 / (this.zoom * su), pv = 1 / (this.zoom * sv); // level-0 voxels per pixel
    const lv = this.layout.levels;
    for (let i = lv.length - 1; i >= 0; i--) {
      if (lv[i].factor[iu] <= SLACK * pu && lv[i].factor[iv] <= SLACK * pv) return i;
    }
    return 0;
  }

  query(extra) {
    const { hu, hv } = this.axes();
    const q = new URLSearchParams({ plane: this.plane, ...extra });
    for (const [k, v] of Object.entries(this.index)) if (k !== hu && k !== hv) q.set(k, String(v));
    for (const c of this.channels) if (c.active) q.append("channel", `${c.index}:${c.color}:${c.start}:${c.end}`);
    return q;
  }

  image(q) {
    const url = `${endpoint(this.section, "volume/slice.png")}?${q}`;
    let img = this.cache.get(url);
    if (img) { this.cache.delete(url); this.cache.set(url, img); return img; }
    img = new Image();
    img.onload = () => this.draw();
    img.onerror = () => { img.failed = true; this.say(`A tile could not be loaded (${url.split("?")[0]}).`, "error"); };
    img.src = url;
    this.requested.add(url);
    this.cache.set(url, img);
    while (this.cache.size > MAX_CACHE) this.cache.delete(this.cache.keys().next().value);
    return img;
  }

  refresh() {
    // a new plane, index, channel or window: a new overview, new tiles
    if (!this.channels.some((c) => c.active)) this.say("No channel is shown: tick one.", "muted small");
    const { nu, nv } = this.axes();
    const f = OVERVIEW / Math.max(nu, nv);
    const w = Math.max(1, Math.min(OVERVIEW, Math.round(nu * Math.min(1, f)))), h = Math.max(1, Math.min(OVERVIEW, Math.round(nv * Math.min(1, f))));
    this.overview = this.image(this.query({ width: w, height: h }));
    this.draw();
  }

  draw() {
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const W = c.clientWidth, H = c.clientHeight;
    if (!W || !H) return;
    if (c.width !== Math.round(W * dpr) || c.height !== Math.round(H * dpr)) { c.width = Math.round(W * dpr); c.height = Math.round(H * dpr); }
    const ctx = c.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, W, H);
    const { iu, iv, nu, nv, su, sv, hu, hv } = this.axes();
    // physical -> screen
    const sx = (u) => (u - this.cu) * this.zoom + W / 2;
    const sy = (v) => (v - this.cv) * this.zoom + H / 2;
    if (this.overview && this.overview.complete && this.overview.naturalWidth) {
      ctx.drawImage(this.overview, sx(0), sy(0), nu * su * this.zoom, nv * sv * this.zoom);
    }
    const L = this.level();
    const lv = this.layout.levels[L];
    const fu = lv.factor[iu], fv = lv.factor[iv];
    // visible region in level-0 voxels, then in tiles of this level
    const u0 = Math.max(0, (this.cu - W / 2 / this.zoom) / su), u1 = Math.min(nu, (this.cu + W / 2 / this.zoom) / su);
    const v0 = Math.max(0, (this.cv - H / 2 / this.zoom) / sv), v1 = Math.min(nv, (this.cv + H / 2 / this.zoom) / sv);
    let tiles = 0, loaded = 0;
    if (u1 > u0 && v1 > v0) {
      const tu = TILE * fu, tv = TILE * fv; // a tile's extent in level-0 voxels
      for (let j = Math.floor(v0 / tv); j < Math.ceil(v1 / tv); j++) {
        for (let i = Math.floor(u0 / tu); i < Math.ceil(u1 / tu); i++) {
          const left = i * tu, top = j * tv;
          const right = Math.min(nu, left + tu), bottom = Math.min(nv, top + tv);
          const width = Math.max(1, Math.round((right - left) / fu)), height = Math.max(1, Math.round((bottom - top) / fv));
          const img = this.image(this.query({ level: L, left, top, right, bottom, width, height }));
          tiles += 1;
          if (img.complete && img.naturalWidth) {
            ctx.drawImage(img, sx(left * su), sy(top * sv), (right - left) * su * this.zoom, (bottom - top) * sv * this.zoom);
            loaded += 1;
          }
        }
      }
    }
    const s = this.section.dataset;
    s.level = String(L);
    s.tiles = String(tiles);
    s.loaded = String(loaded);
    s.requested = String(this.requested.size);
    if (tiles && loaded === tiles) s.drawnAt = String(Math.round(performance.now()));
    const px = 1 / this.zoom;
    this.info.textContent = `${hu}-${hv} plane · level ${L} of ${this.layout.levels.length - 1} (${lv.shape.join(" × ")}) · ${loaded}/${tiles} tiles · 1 screen pixel = ${px.toPrecision(3)} ${this.unit(hu)}`;
  }

  say(text, kind) { this.msg(text, kind); }
}

async function init(section) {
  const { say } = card(section, "Volume");
  let layout;
  try {
    layout = await getJSON(endpoint(section, "volume"));
  } catch (e) {
    say(`The volume cannot be shown: ${e.message}`, "error");
    return;
  }
  if (!layout.planes.length) {
    say("This volume has no x-y plane to show.", "muted");
    return;
  }
  say("", "");
  new Viewer(section, layout, say);
  const base = layout.levels[0];
  const names = layout.axes.map((a) => a.name).join("");
  const sizes = layout.axes.filter((a) => a.type === "space").map((a) => `${base.scale[layout.axes.indexOf(a)]} ${a.unit || ""}`.trim());
  const note = el("p", { class: "muted small", text: `${names} ${base.shape.join(" × ")} ${layout.dtype}, ${layout.levels.length} level${layout.levels.length > 1 ? "s" : ""}, voxel ${sizes.join(" × ")}.` });
  section.append(note);
}

for (const section of sections("volume")) init(section);
