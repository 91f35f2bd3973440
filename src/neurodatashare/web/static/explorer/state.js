// View state in the URL query string (so every view is a shareable link), and the
// shared time: one window and one cursor for every time-based view on the page.

const params = new URLSearchParams(window.location.search);
let writeTimer = null;

function flush() {
  writeTimer = null;
  const q = params.toString().replace(/%2F/g, "/").replace(/%3A/g, ":").replace(/%7C/g, "|");
  const url = `${window.location.pathname}${q ? `?${q}` : ""}${window.location.hash}`;
  if (url !== window.location.pathname + window.location.search + window.location.hash) {
    window.history.replaceState(null, "", url);
  }
}

export const urlState = {
  get(key, fallback = null) {
    const v = params.get(key);
    return v === null ? fallback : v;
  },
  getNumber(key, fallback = null) {
    const v = params.get(key);
    if (v === null || v === "") return fallback;
    const n = Number(v);
    return Number.isFinite(n) ? n : fallback;
  },
  getAll(key) {
    return params.getAll(key);
  },
  /** Set keys (null or "" removes them); arrays become repeated keys. */
  set(values) {
    for (const [k, v] of Object.entries(values)) {
      params.delete(k);
      if (v === null || v === undefined || v === "") continue;
      if (Array.isArray(v)) v.forEach((x) => params.append(k, x));
      else params.set(k, String(v));
    }
    if (writeTimer === null) writeTimer = setTimeout(flush, 120);
  },
  flush,
};

function round(t) {
  return Number(t.toPrecision(9));
}

/**
 * The shared time. Views call `addExtent` with their data's time range, listen with
 * `subscribe`, and move things with `setWindow`, `setCursor`, `pan`, `zoom`.
 * Listeners get {window, cursor, bounds, source, what} once per animation frame at most.
 */
export class TimeStore {
  constructor() {
    const t0 = urlState.getNumber("t0");
    const t1 = urlState.getNumber("t1");
    this.window = t0 !== null && t1 !== null && t1 > t0 ? [t0, t1] : null;
    this.cursor = urlState.getNumber("cursor");
    this.bounds = null;
    this.recording = null;
    this.listeners = new Set();
    this.pending = null;
  }

  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** The whole recording's span (from the file's overview): what the time bar shows. */
  setRecording(start, end) {
    if (!Number.isFinite(start) || !Number.isFinite(end)) return;
    this.recording = [start, Math.max(end, start + 1e-3)];
    const b = this.bounds;
    this.bounds = b ? [Math.min(b[0], start), Math.max(b[1], end)] : [...this.recording];
    this.emit("init", "bounds");
    if (!this.window) {
      this.window = [start, Math.min(end, start + 10)];
      this.emit("init", "window");
    }
    if (this.cursor === null) {
      this.cursor = this.window[0] + (this.window[1] - this.window[0]) * 0.25;
      this.emit("init", "cursor");
    }
  }

  /**
   * A view's data runs from `start` to `end`. The first view sets the window; a view whose
   * data the current window misses entirely moves the window to its span (same width).
   */
  addExtent(start, end) {
    if (!Number.isFinite(start) || !Number.isFinite(end)) return;
    if (end <= start) end = start + 1;
    const b = this.bounds;
    this.bounds = b ? [Math.min(b[0], start), Math.max(b[1], end)] : [start, end];
    if (!b || this.bounds[0] !== b[0] || this.bounds[1] !== b[1]) this.emit("init", "bounds");
    if (!this.window) {
      this.window = [start, Math.min(end, start + 10)];
      this.emit("init", "window");
    } else if (this.window[1] <= start || this.window[0] >= end) {
      const span = Math.min(this.window[1] - this.window[0], end - start);
      this.window = [start, start + span];
      if (this.cursor !== null && (this.cursor < start || this.cursor > start + span)) {
        this.cursor = start + span * 0.25;
        this.emit("span", "cursor");
      }
      this.emit("span", "window");
    }
    if (this.cursor === null) {
      this.cursor = this.window[0] + (this.window[1] - this.window[0]) * 0.25;
      this.emit("init", "cursor");
    }
  }

  emit(source, what) {
    urlState.set({
      t0: this.window ? round(this.window[0]) : null,
      t1: this.window ? round(this.window[1]) : null,
      cursor: this.cursor === null ? null : round(this.cursor),
    });
    const merged = this.pending ? new Set([...this.pending.what, what]) : new Set([what]);
    this.pending = { source, what: merged };
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = null;
      const event = {
        window: this.window,
        cursor: this.cursor,
        bounds: this.bounds,
        source: this.pending.source,
        what: this.pending.what,
      };
      this.pending = null;
      for (const fn of [...this.listeners]) {
        try {
          fn(event);
        } catch (err) {
          console.warn("time listener failed", err);
        }
      }
    });
  }

  setWindow(t0, t1, source = "user") {
    if (!Number.isFinite(t0) || !Number.isFinite(t1) || t1 <= t0) return;
    const span = t1 - t0;
    if (span < 1e-6) return;
    if (this.window && Math.abs(this.window[0] - t0) < span * 1e-9 && Math.abs(this.window[1] - t1) < span * 1e-9) return;
    this.window = [t0, t1];
    this.emit(source, "window");
  }

  /** Move the cursor; with `follow`, scroll the window so the cursor stays in view. */
  setCursor(t, source = "user", { follow = true } = {}) {
    if (!Number.isFinite(t)) return;
    if (this.bounds) t = Math.min(Math.max(t, this.bounds[0]), this.bounds[1]);
    this.cursor = t;
    if (follow && this.window && (t < this.window[0] || t > this.window[1])) {
      const span = this.window[1] - this.window[0];
      const start = t - span * 0.1;
      this.window = [start, start + span];
      this.emit(source, "window");
    }
    this.emit(source, "cursor");
  }

  pan(fraction, source = "keys") {
    if (!this.window) return;
    const span = this.window[1] - this.window[0];
    let start = this.window[0] + span * fraction;
    if (this.bounds) {
      start = Math.max(this.bounds[0] - span * 0.5, Math.min(start, this.bounds[1] - span * 0.5));
    }
    this.setWindow(start, start + span, source);
  }

  zoom(factor, source = "keys") {
    if (!this.window) return;
    const [a, b] = this.window;
    const c = this.cursor !== null && this.cursor >= a && this.cursor <= b ? this.cursor : (a + b) / 2;
    let span = (b - a) * factor;
    if (this.bounds) span = Math.min(span, (this.bounds[1] - this.bounds[0]) * 1.02);
    span = Math.max(span, 1e-4);
    const left = c - ((c - a) / (b - a)) * span;
    this.setWindow(left, left + span, source);
  }

  stepCursor(fraction, source = "keys") {
    if (!this.window) return;
    const span = this.window[1] - this.window[0];
    const base = this.cursor === null ? this.window[0] + span / 2 : this.cursor;
    this.setCursor(base + span * fraction, source);
  }

  centerOnCursor(source = "keys") {
    if (!this.window || this.cursor === null) return;
    const span = this.window[1] - this.window[0];
    this.setWindow(this.cursor - span / 2, this.cursor + span / 2, source);
  }

  toStart(source = "keys") {
    if (!this.window || !this.bounds) return;
    const span = this.window[1] - this.window[0];
    this.setWindow(this.bounds[0], this.bounds[0] + span, source);
  }

  toEnd(source = "keys") {
    if (!this.window || !this.bounds) return;
    const span = this.window[1] - this.window[0];
    this.setWindow(this.bounds[1] - span, this.bounds[1], source);
  }

  all(source = "keys") {
    if (this.bounds) this.setWindow(this.bounds[0], this.bounds[1], source);
  }
}
