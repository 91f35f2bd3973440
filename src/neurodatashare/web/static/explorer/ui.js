// Small DOM helpers shared by the views.

import { ApiError } from "./api.js";

/** Replace `host`'s content with a message ("error", "info" or "loading"). */
export function message(host, text, kind = "info") {
  const p = document.createElement("p");
  p.className = `msg ${kind}`;
  if (kind === "error") p.setAttribute("role", "alert");
  else p.setAttribute("role", "status");
  p.textContent = text;
  host.replaceChildren(p);
  return p;
}

/** Put a message into a view's status area without clearing the plot. */
export function note(el, text, kind = "info") {
  if (!el) return;
  el.textContent = text || "";
  el.className = `status ${text ? kind : ""}`;
  if (kind === "error") el.setAttribute("role", "alert");
  else el.removeAttribute("role");
}

/** Any value as short readable text: never "[object Object]". */
export function readable(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return v.map(readable).join(", ");
  if (typeof v === "object") {
    if (typeof v.message === "string") return v.message;
    if (v.detail !== undefined) return readable(v.detail);
    if (typeof v.msg === "string") return v.msg;
    if (typeof v.path === "string") return v.path;
    try {
      return JSON.stringify(v);
    } catch (_) {
      return "an unreadable value";
    }
  }
  return String(v);
}

export function errorText(err) {
  if (err instanceof ApiError) {
    const detail = readable(err.detail) || "The server refused the request.";
    return err.status ? `${detail} (HTTP ${err.status})` : detail;
  }
  if (err instanceof Error) return err.message || err.name || "Something went wrong.";
  return readable(err) || "Something went wrong.";
}

export function isAbort(err) {
  return err?.name === "AbortError";
}

/** Build an element: h("div", {class: "x", onclick: fn}, child, "text"). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Run the latest call of `fn` only, aborting the one before (a view's data loader). */
export function latest(fn) {
  let controller = null;
  return async (...args) => {
    controller?.abort();
    controller = new AbortController();
    const mine = controller;
    try {
      return await fn(mine.signal, ...args);
    } finally {
      if (controller === mine) controller = null;
    }
  };
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** A select element from [value, label] pairs. */
export function select(name, options, value, label) {
  const s = h("select", { name, "aria-label": label || name });
  for (const [v, text] of options) {
    const o = h("option", { value: v, text });
    if (String(v) === String(value)) o.selected = true;
    s.append(o);
  }
  return s;
}
