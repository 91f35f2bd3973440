// Pictures in colour: a static Image (grey, RGB, RGBA), every image of an Images
// container as a gallery, or the frame at the time cursor of a colour ImageSeries.

import { fmtTime } from "./plot.js";
import { h, note, errorText, isAbort, latest } from "./ui.js";
import { LIMITS } from "./limits.js";

const MAX_GALLERY = LIMITS.GALLERY_PICTURES;

/** Draw a picture payload ((height, width, channels) float32) on a canvas, in colour. */
export function drawPicture(canvas, pic, maxCss = 440) {
  const [hgt, wid, ch] = pic.shape;
  canvas.width = wid;
  canvas.height = hgt;
  const scale = Math.max(1, Math.floor(maxCss / Math.max(wid, hgt))) || 1;
  const css = Math.min(maxCss, Math.max(wid, hgt) * scale) / Math.max(wid, hgt);
  canvas.style.width = `${Math.round(wid * css)}px`;
  canvas.style.height = `${Math.round(hgt * css)}px`;
  const ctx = canvas.getContext("2d");
  const out = ctx.createImageData(wid, hgt);
  const d = pic.data;
  const k = 255 / (Number(pic.meta.full_scale) || 255);
  const clip = (v) => (v < 0 ? 0 : v > 255 ? 255 : v);
  for (let i = 0; i < hgt * wid; i++) {
    const o = 4 * i;
    if (ch === 1) {
      const v = clip(d[i] * k);
      out.data[o] = out.data[o + 1] = out.data[o + 2] = v;
      out.data[o + 3] = 255;
    } else {
      out.data[o] = clip(d[i * ch] * k);
      out.data[o + 1] = clip(d[i * ch + 1] * k);
      out.data[o + 2] = clip(d[i * ch + 2] * k);
      out.data[o + 3] = ch === 4 ? clip(d[i * ch + 3] * k) : 255;
    }
  }
  ctx.putImageData(out, 0, 0);
}

function figure(title, pic) {
  const canvas = h("canvas", { class: "picture", role: "img", "aria-label": title });
  const [hgt, wid] = pic.shape;
  const fig = h("figure", { class: `picture-box mode-${pic.meta.mode}` }, canvas,
    h("figcaption", {}, h("strong", {}, title), ` · ${wid} × ${hgt} · ${pic.meta.mode.toUpperCase()}`));
  return { fig, canvas };
}

export async function mount({ el, node, api, time, tree }) {
  const status = h("p", { class: "status" });
  if (node.kind === "dataset") {
    const pic = await api.binary("picture", { path: node.path });
    const { fig, canvas } = figure(node.name, pic);
    el.append(h("div", { class: "gallery" }, fig), status);
    drawPicture(canvas, pic);
    note(status, pic.meta.description || "", "info");
    return { destroy() {} };
  }
  const members = (tree.byPath.get(node.path)?.children || []).filter((c) => (c.views || []).includes("picture") && c.kind === "dataset");
  if (members.length) {
    const gallery = h("div", { class: "gallery" });
    el.append(gallery, status);
    let failed = 0;
    for (const m of members.slice(0, MAX_GALLERY)) {
      try {
        const pic = await api.binary("picture", { path: m.path });
        const { fig, canvas } = figure(m.name, pic);
        gallery.append(fig);
        drawPicture(canvas, pic, 300);
      } catch (err) {
        failed += 1;
        gallery.append(h("p", { class: "msg error" }, `${m.name}: ${errorText(err)}`));
      }
    }
    note(status, `${members.length} image${members.length === 1 ? "" : "s"}${members.length > MAX_GALLERY ? `, the first ${MAX_GALLERY} shown` : ""}${failed ? ` · ${failed} could not be shown` : ""}`, failed ? "error" : "info");
    return { destroy() {} };
  }
  // a colour image series: the frame at the cursor
  const first = await api.binary("picture", { path: node.path, index: 0 });
  const n = Number(first.meta.n_frames);
  const t0 = Number(first.meta.t_start);
  const t1 = Number(first.meta.t_end);
  const rate = n > 0 && t1 > t0 ? n / (t1 - t0) : 1;
  time.addExtent(t0, t1);
  const { fig, canvas } = figure(node.name, first);
  const scrub = h("input", { type: "range", min: "0", max: String(Math.max(0, n - 1)), value: "0", step: "1", "aria-label": "Frame" });
  const label = h("span", { class: "pagelabel" });
  el.append(h("div", { class: "scrub" }, scrub, label), h("div", { class: "gallery" }, fig), status);
  let shown = -1;
  const frameOf = (t) => Math.min(n - 1, Math.max(0, Math.floor((t - t0) * rate + 1e-9)));
  const load = latest(async (signal, index) => {
    if (index === shown) return;
    const pic = index === 0 ? first : await api.binary("picture", { path: node.path, index }, { signal });
    drawPicture(canvas, pic);
    shown = index;
    scrub.value = String(index);
    label.textContent = `frame ${index + 1} of ${n} · ${fmtTime(Number(pic.meta.time))}`;
    note(status, `${pic.meta.mode.toUpperCase()} frames, ${pic.shape[1]} × ${pic.shape[0]} pixels · the frame follows the time cursor`, "info");
  });
  const show = () => load(frameOf(time.cursor ?? t0)).catch((err) => {
    if (!isAbort(err)) note(status, errorText(err), "error");
  });
  scrub.addEventListener("input", () => time.setCursor(t0 + (Number(scrub.value) + 0.5) / rate, "scrubber"));
  const unsubscribe = time.subscribe((ev) => {
    if (ev.what.has("cursor") || ev.what.has("window")) show();
  });
  show();
  return {
    destroy() {
      unsubscribe();
    },
  };
}
