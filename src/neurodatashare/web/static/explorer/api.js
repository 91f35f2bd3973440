// The explorer data API (docs/explorer-api.md): JSON endpoints and binary windows.

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
    this.detail = detail;
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
    else q.append(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

/** FastAPI-style detail lists ([{loc, msg}]) and other shapes as one sentence. */
function describeDetail(detail) {
  if (Array.isArray(detail)) {
    return detail.map((d) => (d && typeof d === "object" ? [d.loc?.join?.("."), d.msg].filter(Boolean).join(": ") : String(d))).join("; ");
  }
  if (detail && typeof detail === "object") return detail.message || detail.msg || JSON.stringify(detail);
  return String(detail);
}

async function failure(response) {
  let detail = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && body.detail !== undefined) {
      detail = typeof body.detail === "string" ? body.detail : describeDetail(body.detail);
    }
  } catch (_) {
    /* not JSON: keep the status line */
  }
  return new ApiError(response.status, detail);
}

async function send(url, signal, accept) {
  let response;
  try {
    response = await fetch(url, { signal, credentials: "same-origin", headers: { Accept: accept } });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, `The server could not be reached (${err.message}).`);
  }
  if (!response.ok) throw await failure(response);
  return response;
}

function product(shape) {
  return shape.reduce((a, b) => a * b, 1);
}

function readFloats(buffer, offset, count, Kind) {
  const size = Kind.BYTES_PER_ELEMENT;
  if (LITTLE_ENDIAN && offset % size === 0) return new Kind(buffer, offset, count);
  const view = new DataView(buffer, offset, count * size);
  const out = new Kind(count);
  for (let i = 0; i < count; i++) {
    out[i] = size === 8 ? view.getFloat64(i * size, true) : view.getFloat32(i * size, true);
  }
  return out;
}

/** Parse a binary payload: the JSON in X-NDS-Meta, optional float64 times, float32 data. */
export function parsePayload(metaText, buffer) {
  if (!metaText) throw new ApiError(0, "The server sent numbers without their X-NDS-Meta header.");
  const meta = JSON.parse(metaText);
  const shape = meta.shape || [];
  const count = product(shape);
  const nTimes = meta.times ? shape[0] || 0 : 0;
  const expected = nTimes * 8 + count * 4;
  if (buffer.byteLength !== expected) {
    throw new ApiError(0, `The payload has ${buffer.byteLength} bytes; its header announces ${expected}.`);
  }
  const times = meta.times ? readFloats(buffer, 0, nTimes, Float64Array) : null;
  const data = readFloats(buffer, nTimes * 8, count, Float32Array);
  return { meta, shape, times, data };
}

/** Time of sample (or block) i of a window payload. */
export function timeAt(win, i) {
  if (win.times) return win.times[i];
  return win.meta.t0 + i * win.meta.dt;
}

/** All sample (or block start) times of a window payload. */
export function timesOf(win) {
  if (win.times) return win.times;
  const n = win.shape[0] || 0;
  const out = new Float64Array(n);
  const { t0, dt } = win.meta;
  for (let i = 0; i < n; i++) out[i] = t0 + i * dt;
  return out;
}

/** '0-3,7' for [0,1,2,3,7]. */
export function ranges(indices) {
  const sorted = [...indices].sort((a, b) => a - b);
  const parts = [];
  let i = 0;
  while (i < sorted.length) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}

export class Api {
  constructor(assetId) {
    this.base = `/api/assets/${encodeURIComponent(assetId)}/explore/`;
    this.cache = new Map();
  }

  url(endpoint, params) {
    return this.base + endpoint + query(params);
  }

  async json(endpoint, params, { signal, cache = false } = {}) {
    const url = this.url(endpoint, params);
    if (cache && this.cache.has(url)) return this.cache.get(url);
    const promise = send(url, signal, "application/json").then((r) => r.json());
    if (cache) {
      this.cache.set(url, promise);
      promise.catch(() => this.cache.delete(url));
    }
    return promise;
  }

  async binary(endpoint, params, { signal } = {}) {
    const url = this.url(endpoint, params);
    let response;
    for (let attempt = 0; ; attempt++) {
      try {
        response = await send(url, signal, "application/octet-stream");
        break;
      } catch (err) {
        // 409: the overview this zoom level needs is still being built; try again soon
        if (!(err instanceof ApiError) || err.status !== 409 || attempt >= 5) throw err;
        await new Promise((resolve) => setTimeout(resolve, 1500 * (attempt + 1)));
        if (signal?.aborted) throw new DOMException("aborted", "AbortError");
      }
    }
    const buffer = await response.arrayBuffer();
    return parsePayload(response.headers.get("X-NDS-Meta"), buffer);
  }

  series(path) {
    return this.json("series", { path }, { cache: true });
  }
}
