// Plotly helpers shared by the views: time axes that follow the shared window, the
// shared cursor line, clicks that move the cursor, and sizes in pixels.

import { LIMITS } from "./limits.js";

export const COLORS = [
  "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
  "#7f7f7f", "#bcbd22",
];

export const CURSOR_COLOR = "#e8590c";

export function plotly() {
  if (!window.Plotly) {
    throw new Error("plotly.js did not load, so plots cannot be drawn (the server needs the 'plotly' Python package).");
  }
  return window.Plotly;
}

export const CONFIG = {
  displaylogo: false,
  responsive: true,
  scrollZoom: true,
  doubleClick: false,
  modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "resetScale2d", "toImage"],
};

export const MARGIN = { l: 110, r: 16, t: 8, b: 36 };

/** The widest window the server serves (pixels). */
export const MAX_WIDTH = LIMITS.MAX_WIDTH;

export function cursorShape(t, yref = "paper") {
  if (t === null || t === undefined) return [];
  return [{
    type: "line", xref: "x", yref, x0: t, x1: t, y0: 0, y1: 1,
    line: { color: CURSOR_COLOR, width: 1.5 }, layer: "above", name: "cursor",
  }];
}

/** Width in pixels of the plotting area of a graph div with the given margins. */
export function plotWidth(div, margin = MARGIN) {
  const full = div.clientWidth || div.parentElement?.clientWidth || 800;
  return Math.max(10, Math.min(MAX_WIDTH, Math.round(full - margin.l - margin.r)));
}

/**
 * Connect a plotly graph's x axis ('x' by default) to the shared time: dragging or
 * scrolling changes the window everywhere, a click moves the cursor everywhere.
 * `onWindow` runs when the window changed (from anywhere); `extraShapes()` adds shapes.
 */
export function bindTime(gd, time, { onWindow, extraShapes = () => [], axis = "xaxis", yref = "paper", id } = {}) {
  const P = plotly();
  let applying = false;
  const source = id || `plot-${Math.random().toString(36).slice(2)}`;

  const shapes = () => [...extraShapes(), ...cursorShape(time.cursor, yref)];

  gd.on("plotly_relayout", (ev) => {
    if (applying) return;
    const a = ev[`${axis}.range[0]`] ?? ev[`${axis}.range`]?.[0];
    const b = ev[`${axis}.range[1]`] ?? ev[`${axis}.range`]?.[1];
    if (a !== undefined && b !== undefined) time.setWindow(Number(a), Number(b), source);
  });

  gd.addEventListener("click", (e) => {
    const drag = gd.querySelector(".nsewdrag");
    const range = gd.layout?.[axis]?.range;
    if (!drag || !range) return;
    const r = drag.getBoundingClientRect();
    if (e.clientX < r.left || e.clientX > r.right || e.clientY < r.top || e.clientY > r.bottom) return;
    const t = range[0] + ((e.clientX - r.left) / r.width) * (range[1] - range[0]);
    time.setCursor(t, source, { follow: false });
  });

  const unsubscribe = time.subscribe((ev) => {
    if (!gd.layout) return;
    const update = {};
    if (ev.what.has("window") && ev.source !== source) {
      update[`${axis}.range`] = [...ev.window];
    }
    if (ev.what.has("cursor") || ev.what.has("window")) update.shapes = shapes();
    if (Object.keys(update).length) {
      applying = true;
      Promise.resolve(P.relayout(gd, update)).finally(() => {
        applying = false;
      });
    }
    if (ev.what.has("window") && onWindow) onWindow(ev.window);
  });
  return { shapes, unsubscribe };
}

/** [start, end] seconds of a series from the `series` endpoint. */
export function seriesExtent(info) {
  const start = Number(info.t_start ?? info.starting_time ?? 0);
  const end = info.t_end !== undefined && info.t_end !== null ? Number(info.t_end) : start + Number(info.duration ?? 0);
  return [start, Math.max(start, end)];
}

export function fmtTime(t) {
  if (t === null || t === undefined || !Number.isFinite(t)) return "—";
  const a = Math.abs(t);
  if (a >= 100) return `${t.toFixed(2)} s`;
  if (a >= 1) return `${t.toFixed(3)} s`;
  return `${t.toFixed(4)} s`;
}

export function fmtNumber(x) {
  if (x === null || x === undefined) return "—";
  if (typeof x !== "number") return String(x);
  if (Number.isInteger(x)) return x.toLocaleString("en-US");
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return x.toExponential(3);
  return x.toPrecision(4).replace(/\.?0+$/, "");
}

/** Median of an array-like (copied). */
export function median(values) {
  const v = Array.from(values).filter(Number.isFinite).sort((a, b) => a - b);
  if (!v.length) return 0;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}
