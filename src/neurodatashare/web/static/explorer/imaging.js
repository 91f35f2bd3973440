// Imaging: frames with a scrubber and player, mean/max projections, ROI masks drawn over
// the image; clicking an ROI shows its trace, and a heatmap shows every ROI over time.
// The same module serves PlaneSegmentation (the "segmentation" view).

import { ranges, timesOf } from "./api.js";
import { plotly, CONFIG, MARGIN, bindTime, plotWidth, fmtTime, seriesExtent } from "./plot.js";
import { h, note, errorText, isAbort, latest, debounce, select } from "./ui.js";
import { displayUnit } from "./units.js";
import { LIMITS } from "./limits.js";

const ROI_COLORS = [[255, 99, 71], [65, 185, 255], [255, 215, 0], [50, 205, 50], [238, 130, 238],
  [255, 165, 0], [0, 255, 200], [255, 105, 180], [173, 255, 47], [135, 206, 250]];

/** ROIs as {shape:[h,w], rois:[{index, id, ys, xs, cy, cx}]} whatever the exact response. */
export function normalizeRois(resp) {
  const shape = resp.image_shape || resp.shape || resp.imageShape || null;
  const rois = (resp.rois || []).map((r, k) => {
    let ys = [];
    let xs = [];
    const px = r.pixels ?? r.coords ?? r.mask ?? r.pixel_mask ?? [];
    if (Array.isArray(r.x) && Array.isArray(r.y)) {
      // the API's shape: x (column) and y (row) lists, centroid [x, y]
      const c = r.centroid || [mean(r.x), mean(r.y)];
      return { index: r.index ?? k, id: r.id ?? k, ys: r.y, xs: r.x, cy: c[1], cx: c[0] };
    }
    if (Array.isArray(px)) {
      for (const p of px) {
        ys.push(p[0]);
        xs.push(p[1]);
      }
    } else if (px && typeof px === "object") {
      ys = px.y || px.rows || [];
      xs = px.x || px.cols || [];
    }
    const c = r.centroid || [ys.reduce((a, b) => a + b, 0) / (ys.length || 1), xs.reduce((a, b) => a + b, 0) / (xs.length || 1)];
    return { index: r.index ?? k, id: r.id ?? k, ys, xs, cy: c[0], cx: c[1] };
  });
  return { shape, rois, series: resp.imaging_series || null };
}

function mean(v) {
  return v.reduce((a, b) => a + b, 0) / (v.length || 1);
}

function percentile(sorted, q) {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))];
}

class ImageCanvas {
  constructor() {
    this.canvas = h("canvas", { class: "image", role: "img", "aria-label": "Imaging frame" });
    this.overlay = h("canvas", { class: "overlay", "aria-hidden": "true" });
    this.wrap = h("div", { class: "imgwrap" }, this.canvas, this.overlay);
    this.contrast = null;
    this.rois = null;
    this.selected = null;
    this.showRois = true;
    this.labels = null;
  }

  size(hgt, wid) {
    if (this.canvas.height !== hgt || this.canvas.width !== wid) {
      this.canvas.height = this.overlay.height = hgt;
      this.canvas.width = this.overlay.width = wid;
    }
    const maxW = Math.min(440, this.wrap.parentElement?.clientWidth || 440);
    const scale = maxW / wid;
    const cssW = Math.round(wid * scale);
    const cssH = Math.round(hgt * scale);
    for (const c of [this.canvas, this.overlay]) {
      c.style.width = `${cssW}px`;
      c.style.height = `${cssH}px`;
    }
  }

  autoContrast(data) {
    const step = Math.max(1, Math.floor(data.length / 20000));
    const sample = [];
    for (let i = 0; i < data.length; i += step) if (Number.isFinite(data[i])) sample.push(data[i]);
    sample.sort((a, b) => a - b);
    const lo = percentile(sample, 0.01);
    let hi = percentile(sample, 0.995);
    if (hi <= lo) hi = lo + 1;
    this.contrast = [lo, hi];
  }

  setImage(img) {
    const [hgt, wid] = img.shape;
    this.size(hgt, wid);
    if (!this.contrast) this.autoContrast(img.data);
    const [lo, hi] = this.contrast;
    const ctx = this.canvas.getContext("2d");
    const out = ctx.createImageData(wid, hgt);
    const d = img.data;
    const k = 255 / (hi - lo);
    for (let i = 0; i < hgt * wid; i++) {
      let v = (d[i] - lo) * k;
      v = v < 0 ? 0 : v > 255 ? 255 : v;
      out.data[4 * i] = v;
      out.data[4 * i + 1] = v;
      out.data[4 * i + 2] = v;
      out.data[4 * i + 3] = 255;
    }
    ctx.putImageData(out, 0, 0);
    this.last = img;
    if (this.rois) this.drawRois();
  }

  setRois(rois, shape) {
    this.rois = rois;
    const hgt = shape?.[0] ?? this.canvas.height;
    const wid = shape?.[1] ?? this.canvas.width;
    if (!this.last) this.size(hgt, wid);
    this.labels = new Int32Array(hgt * wid).fill(-1);
    this.lshape = [hgt, wid];
    rois.forEach((r, k) => {
      for (let i = 0; i < r.ys.length; i++) {
        const y = r.ys[i];
        const x = r.xs[i];
        if (y >= 0 && y < hgt && x >= 0 && x < wid) this.labels[y * wid + x] = k;
      }
    });
    this.drawRois();
  }

  drawRois() {
    const ctx = this.overlay.getContext("2d");
    const { width, height } = this.overlay;
    ctx.clearRect(0, 0, width, height);
    if (!this.rois || !this.showRois) return;
    const out = ctx.createImageData(width, height);
    const [lh, lw] = this.lshape;
    for (let y = 0; y < Math.min(height, lh); y++) {
      for (let x = 0; x < Math.min(width, lw); x++) {
        const k = this.labels[y * lw + x];
        if (k < 0) continue;
        const sel = this.rois[k].index === this.selected;
        // outline pixels (a neighbour outside this ROI) are drawn stronger than the fill
        const edge = x === 0 || y === 0 || x === lw - 1 || y === lh - 1 ||
          this.labels[y * lw + x - 1] !== k || this.labels[y * lw + x + 1] !== k ||
          this.labels[(y - 1) * lw + x] !== k || this.labels[(y + 1) * lw + x] !== k;
        const c = sel ? [255, 40, 40] : ROI_COLORS[k % ROI_COLORS.length];
        const o = 4 * (y * width + x);
        out.data[o] = c[0];
        out.data[o + 1] = c[1];
        out.data[o + 2] = c[2];
        out.data[o + 3] = edge ? 255 : sel ? 150 : 60;
      }
    }
    ctx.putImageData(out, 0, 0);
  }

  pick(event) {
    if (!this.labels) return null;
    const r = this.overlay.getBoundingClientRect();
    const [lh, lw] = this.lshape;
    const x = Math.floor(((event.clientX - r.left) / r.width) * lw);
    const y = Math.floor(((event.clientY - r.top) / r.height) * lh);
    if (x < 0 || y < 0 || x >= lw || y >= lh) return null;
    const k = this.labels[y * lw + x];
    if (k >= 0) return this.rois[k].index;
    // no ROI under the pointer: the nearest centroid within 4 pixels
    let best = null;
    let bestD = 16;
    for (const roi of this.rois) {
      const d = (roi.cx - x) ** 2 + (roi.cy - y) ** 2;
      if (d < bestD) {
        bestD = d;
        best = roi.index;
      }
    }
    return best;
  }
}

export async function mount({ el, node, view, api, time, urlState, tree }) {
  const P = plotly();
  const nodes = [...tree.byPath.values()];
  const segNodes = nodes.filter((n) => (n.views || []).includes("segmentation"));
  const segNode = view === "segmentation" ? node : segNodes[0];
  let roiData = null;
  let roiError = null;
  if (segNode) {
    try {
      roiData = normalizeRois(await api.json("rois", { path: segNode.path }, { cache: true }));
    } catch (err) {
      roiError = err;
    }
  }
  // the segmentation's own imaging series (reference_images) when it names one
  const imagingNode = view === "imaging"
    ? node
    : nodes.find((n) => n.path === roiData?.series && (n.views || []).includes("imaging")) ||
      nodes.find((n) => (n.views || []).includes("imaging"));
  const rrsNodes = nodes.filter((n) => /RoiResponseSeries/.test(n.neurodata_type || "") && (n.views || []).includes("traces"));
  rrsNodes.sort((a, b) => (/DfOverF|dff/i.test(b.path) ? 1 : 0) - (/DfOverF|dff/i.test(a.path) ? 1 : 0));
  let rrs = rrsNodes.find((n) => n.path === urlState.get("rrs")) || rrsNodes[0] || null;

  const image = new ImageCanvas();
  const imgStatus = h("p", { class: "status" });
  const left = h("div", { class: "imaging-left" });
  const right = h("div", { class: "imaging-right" });
  el.append(h("div", { class: "imaging-grid" }, left, right));

  // -- image source: frames of the imaging series, or its projections ---------------------
  let info = null; // {nFrames, rate, t0, t1} from the first and last frames' times
  let mode = urlState.get("img", view === "segmentation" ? "mean" : "frame");
  const modes = [];
  if (imagingNode) {
    // frames carry their time and the frame count; the first and last give the timing
    const first = await api.binary("frame", { path: imagingNode.path, index: 0 });
    const count = Number(first.meta.n_frames ?? imagingNode.children?.find((c) => c.name === "data")?.shape?.[0] ?? 1);
    const lastFrame = count > 1 ? await api.binary("frame", { path: imagingNode.path, index: count - 1 }) : first;
    const a = Number(first.meta.time ?? 0);
    const b = Number(lastFrame.meta.time ?? a);
    const r = count > 1 && b > a ? (count - 1) / (b - a) : 1;
    info = { nFrames: count, rate: r, t0: a, t1: b + 1 / r, first };
    modes.push(["frame", "Frame"], ["mean", "Mean projection"], ["max", "Max projection"]);
    time.addExtent(info.t0, info.t1);
  }
  if (!modes.some(([m]) => m === mode)) mode = modes[0]?.[0] || "none";
  const nFrames = info ? info.nFrames : 0;
  const rate = info ? info.rate : 1;
  const t0 = info ? info.t0 : 0;

  const modeSel = select("img", modes.length ? modes : [["none", "no image"]], mode, "Image");
  const scrub = h("input", { type: "range", min: "0", max: String(Math.max(0, nFrames - 1)), value: "0", step: "1", "aria-label": "Frame" });
  const playBtn = h("button", { type: "button", class: "small", title: "Play or pause (Space)", "aria-label": "Play" }, "▶ play");
  const speedSel = select("speed", [["0.5", "0.5×"], ["1", "1×"], ["2", "2×"], ["4", "4×"]], urlState.get("speed", "1"), "Speed");
  const frameLabel = h("span", { class: "pagelabel" });
  const roiToggle = h("input", { type: "checkbox", checked: true, "aria-label": "Show ROIs" });
  const autoBtn = h("button", { type: "button", class: "small", title: "Fit the contrast to this image" }, "auto contrast");
  const scrubRow = h("div", { class: "scrub" }, playBtn, scrub, frameLabel);
  left.append(
    h("div", { class: "toolbar" }, h("label", {}, "Show ", modeSel), h("label", {}, "speed ", speedSel),
      segNode ? h("label", {}, roiToggle, " ROIs") : null, autoBtn),
    scrubRow, image.wrap, imgStatus,
  );
  if (!imagingNode) message(imgStatus, "No imaging series in this file: ROIs are drawn on a blank image.");

  function message(target, text) {
    note(target, text, "info");
  }

  const frameOf = (t) => Math.min(nFrames - 1, Math.max(0, Math.round((t - t0) * rate)));
  let shown = null;
  let wanted = null;
  let busy = false;
  let playing = false;

  async function fetchImage() {
    if (busy) return;
    busy = true;
    try {
      while (wanted !== null && wanted !== shown) {
        const w = wanted;
        const [kind, idx] = w.split(":");
        const payload = kind === "frame"
          ? await api.binary("frame", { path: imagingNode.path, index: idx })
          : await api.binary("projection", { path: imagingNode.path, kind });
        image.setImage(payload);
        shown = w;
        if (kind === "frame") {
          frameLabel.textContent = `frame ${Number(idx) + 1} of ${nFrames} · ${fmtTime(t0 + Number(idx) / rate)}`;
        } else {
          frameLabel.textContent = `${kind} of ${Math.min(nFrames, LIMITS.PROJECTION_FRAMES)} frames`;
        }
        note(imgStatus, `${payload.shape[0]} × ${payload.shape[1]} pixels · contrast ${image.contrast[0].toPrecision(4)}–${image.contrast[1].toPrecision(4)}`, "info");
      }
    } catch (err) {
      shown = null;
      wanted = null;
      note(imgStatus, errorText(err), "error");
      playing = false;
      playBtn.textContent = "▶ play";
    } finally {
      busy = false;
    }
  }

  function requestImage() {
    if (!imagingNode) return;
    scrubRow.hidden = mode !== "frame";
    if (mode === "frame") {
      const idx = frameOf(time.cursor ?? t0);
      scrub.value = String(idx);
      wanted = `frame:${idx}`;
    } else {
      wanted = `${mode}:`;
    }
    fetchImage();
  }

  modeSel.addEventListener("change", () => {
    mode = modeSel.value;
    image.contrast = null;
    urlState.set({ img: mode === (view === "segmentation" ? "mean" : "frame") ? null : mode });
    requestImage();
  });
  scrub.addEventListener("input", () => time.setCursor(t0 + Number(scrub.value) / rate, "scrubber"));
  autoBtn.addEventListener("click", () => {
    if (image.last) {
      image.autoContrast(image.last.data);
      image.setImage(image.last);
    }
  });
  roiToggle.addEventListener("change", () => {
    image.showRois = roiToggle.checked;
    image.drawRois();
  });
  speedSel.addEventListener("change", () => urlState.set({ speed: speedSel.value === "1" ? null : speedSel.value }));

  async function playLoop() {
    while (playing) {
      const began = performance.now();
      const idx = frameOf(time.cursor ?? t0) + 1;
      if (idx >= nFrames) break;
      time.setCursor(t0 + idx / rate, "player");
      wanted = `frame:${idx}`;
      await fetchImage();
      const wait = 1000 / (rate * Number(speedSel.value)) - (performance.now() - began);
      await new Promise((r) => setTimeout(r, Math.max(0, wait)));
    }
    playing = false;
    playBtn.textContent = "▶ play";
    playBtn.setAttribute("aria-label", "Play");
  }

  function play() {
    if (!imagingNode) return;
    if (mode !== "frame") {
      mode = "frame";
      modeSel.value = "frame";
      requestImage();
    }
    playing = !playing;
    playBtn.textContent = playing ? "❚❚ pause" : "▶ play";
    playBtn.setAttribute("aria-label", playing ? "Pause" : "Play");
    if (playing) playLoop();
  }
  playBtn.addEventListener("click", play);

  // -- ROIs ------------------------------------------------------------------------------
  let rois = [];
  let roi = urlState.getNumber("roi", null);
  if (roiData) {
    rois = roiData.rois;
    image.setRois(rois, roiData.shape);
    if (roi === null && rois.length) roi = rois[0].index;
    image.selected = roi;
    image.drawRois();
  } else if (roiError) {
    note(imgStatus, `ROIs: ${errorText(roiError)}`, "error");
  }
  image.overlay.addEventListener("click", (e) => {
    const k = image.pick(e);
    if (k !== null) setRoi(k);
  });

  // -- ROI trace and heatmap ----------------------------------------------------------------
  const tracePlot = h("div", { class: "plot roi-trace" });
  const traceStatus = h("p", { class: "status" });
  const heatPlot = h("div", { class: "plot roi-heatmap" });
  const heatStatus = h("p", { class: "status" });
  let bindings = [];
  let updateRoiLabel = () => {};
  if (rrs) {
    const rrsSel = select("rrs", rrsNodes.map((n) => [n.path, n.path]), rrs.path, "Response series");
    rrsSel.addEventListener("change", () => {
      rrs = rrsNodes.find((n) => n.path === rrsSel.value);
      urlState.set({ rrs: rrs.path });
      reloadTraces();
    });
    const roiLabel = h("span", { class: "roilabel", "aria-live": "polite" });
    right.append(
      h("div", { class: "toolbar" }, h("label", {}, "traces from ", rrsSel), roiLabel,
        h("span", { class: "muted" }, "click an ROI, or use ↑ ↓")),
      h("p", { class: "subhead" }, "Selected ROI"), tracePlot, traceStatus,
      h("p", { class: "subhead" }, "All ROIs over time"), heatPlot, heatStatus,
    );
    await P.newPlot(tracePlot, [], { margin: { ...MARGIN, l: 60 }, height: 200 }, CONFIG);
    await P.newPlot(heatPlot, [], { margin: { ...MARGIN, l: 60, r: 70 }, height: 280 }, CONFIG);
    bindings = [
      bindTime(tracePlot, time, { onWindow: () => reloadTraces() }),
      bindTime(heatPlot, time, { onWindow: () => {} }),
    ];
    heatPlot.on("plotly_click", (ev) => {
      const pt = ev.points?.[0];
      if (pt && Number.isFinite(pt.y)) setRoi(Math.round(pt.y));
    });
    updateRoiLabel = () => {
      roiLabel.textContent = roi === null ? "no ROI selected" : `ROI ${rois.find((r) => r.index === roi)?.id ?? roi}`;
    };
    updateRoiLabel();
  } else {
    right.append(h("p", { class: "msg info" }, "This file has no ROI response series (RoiResponseSeries) to plot."));
  }

  const loadTrace = latest(async (signal) => {
    if (!rrs || roi === null) return;
    const rinfo = await api.series(rrs.path);
    const [r0, r1] = seriesExtent(rinfo);
    time.addExtent(r0, r1);
    const [a, b] = time.window;
    const s = Math.max(a, r0);
    const e = Math.min(b, r1);
    if (!(e > s)) {
      note(traceStatus, "Nothing in this window.", "info");
      return;
    }
    if (roi >= rinfo.n_channels) {
      note(traceStatus, `ROI ${roi} has no trace in ${rrs.path} (it has ${rinfo.n_channels}).`, "error");
      return;
    }
    note(traceStatus, "Loading…", "loading");
    const width = plotWidth(tracePlot, { l: 60, r: MARGIN.r });
    const win = await api.binary("window", { path: rrs.path, start: s, end: e, width, channels: `${roi}` }, { signal });
    const times = timesOf(win);
    const traces = [];
    if (win.meta.kind === "minmax") {
      const n = win.shape[0];
      const x = new Float64Array(2 * n);
      const y = new Float64Array(2 * n);
      for (let i = 0; i < n; i++) {
        x[i] = times[i];
        y[i] = win.data[2 * i + 1];
        x[2 * n - 1 - i] = times[i];
        y[2 * n - 1 - i] = win.data[2 * i];
      }
      traces.push({ type: "scattergl", mode: "lines", x, y, fill: "toself", line: { color: "#1c6b34", width: 0.8 }, fillcolor: "#1c6b34" });
    } else {
      traces.push({ type: "scattergl", mode: "lines", x: times, y: win.data, line: { color: "#1c6b34", width: 1.3 }, hovertemplate: "%{x:.3f} s: %{y:.3g}<extra></extra>" });
    }
    await P.react(tracePlot, traces, {
      margin: { ...MARGIN, l: 60 }, height: 200, showlegend: false, dragmode: "pan",
      xaxis: { range: [...time.window], zeroline: false }, yaxis: { fixedrange: true, title: { text: /DfOverF|dff/i.test(rrs.path) ? "dF/F" : displayUnit(win.meta.unit || rinfo.unit).label, standoff: 2 } },
      shapes: bindings[0].shapes(),
    }, CONFIG);
    note(traceStatus, `${win.meta.kind === "minmax" ? "min/max envelope" : "raw samples"} · ${rrs.path} · ROI ${roi}`, "info");
  });

  const loadHeat = latest(async (signal) => {
    if (!rrs) return;
    const rinfo = await api.series(rrs.path);
    const [r0, r1] = seriesExtent(rinfo);
    const [a, b] = time.window;
    const s = Math.max(a, r0);
    const e = Math.min(b, r1);
    if (!(e > s)) return;
    const nC = Math.min(rinfo.n_channels, 256);
    note(heatStatus, "Loading…", "loading");
    const width = plotWidth(heatPlot, { l: 60, r: 70 });
    const win = await api.binary("window", { path: rrs.path, start: s, end: e, width, channels: ranges([...Array(nC).keys()]) }, { signal });
    const nT = win.shape[0];
    const mm = win.meta.kind === "minmax";
    const z = [];
    for (let c = 0; c < nC; c++) {
      const row = new Float32Array(nT);
      for (let i = 0; i < nT; i++) row[i] = mm ? (win.data[(i * nC + c) * 2] + win.data[(i * nC + c) * 2 + 1]) / 2 : win.data[i * nC + c];
      z.push(row);
    }
    const times = timesOf(win);
    await P.react(heatPlot, [{
      type: "heatmap", x: mm ? times.map((t) => t + win.meta.dt / 2) : times, y: [...Array(nC).keys()], z, colorscale: "Viridis", zsmooth: false,
      colorbar: { thickness: 10, title: { text: /DfOverF|dff/i.test(rrs.path) ? "dF/F" : displayUnit(win.meta.unit).label, side: "right" } }, hovertemplate: "ROI %{y}<br>%{x:.3f} s<br>%{z:.3g}<extra></extra>",
    }], {
      margin: { ...MARGIN, l: 60, r: 70 }, height: 280, dragmode: "pan",
      xaxis: { range: [...time.window], title: { text: "time (s)", standoff: 4 }, zeroline: false },
      yaxis: { autorange: "reversed", fixedrange: true, title: { text: "ROI", standoff: 2 } },
      shapes: [...bindings[1].shapes(), ...(roi !== null ? [{ type: "rect", xref: "paper", yref: "y", x0: 0, x1: 1, y0: roi - 0.5, y1: roi + 0.5, line: { color: "#ff2828", width: 1 } }] : [])],
    }, CONFIG);
    note(heatStatus, `${nC} ROIs × ${nT} ${mm ? "blocks (mean of min/max)" : "samples"} · click a row to choose its ROI`, "info");
  });

  function reloadTraces() {
    loadTrace().catch((err) => { if (!isAbort(err)) note(traceStatus, errorText(err), "error"); });
    loadHeat().catch((err) => { if (!isAbort(err)) note(heatStatus, errorText(err), "error"); });
  }

  function setRoi(k) {
    if (!rois.length && !rrs) return;
    const max = rois.length ? Math.max(...rois.map((r) => r.index)) : 0;
    roi = Math.min(max, Math.max(0, k));
    urlState.set({ roi });
    image.selected = roi;
    image.drawRois();
    updateRoiLabel();
    reloadTraces();
  }

  const onRoiEvent = (e) => setRoi(e.detail.index);
  window.addEventListener("nds:roi", onRoiEvent);
  const unsubscribe = time.subscribe((ev) => {
    if (mode === "frame" && (ev.what.has("cursor")) && ev.source !== "player") requestImage();
  });
  const resize = new ResizeObserver(debounce(() => {
    if (image.last) image.setImage(image.last);
    reloadTraces();
  }, 250));
  resize.observe(el);

  requestImage();
  reloadTraces();

  return {
    play,
    select(delta) {
      if (roi === null) setRoi(0);
      else setRoi(roi + delta);
    },
    destroy() {
      playing = false;
      resize.disconnect();
      unsubscribe();
      window.removeEventListener("nds:roi", onRoiEvent);
      for (const b of bindings) b.unsubscribe();
      for (const d of el.querySelectorAll(".js-plotly-plot")) P.purge(d);
    },
  };
}
