// Shared by the morphology, dendrogram, sholl and network views (web/static/views/):
// fetching a view's JSON with the API's error message, and the card's title and message.

export const KIND_COLOURS = {
  soma: "#404040",
  axon: "#1f77b4",
  basal: "#d62728",
  apical: "#9467bd",
  custom: "#2ca02c",
};
export const KIND_NAMES = {
  soma: "soma",
  axon: "axon",
  basal: "basal dendrite",
  apical: "apical dendrite",
  custom: "custom label",
};

export function endpoint(section, name, query) {
  const base = section.dataset.api.replace(/\/?$/, "/");
  const q = query ? `?${new URLSearchParams(query)}` : "";
  return `${base}${name}${q}`;
}

export async function getJSON(url) {
  const r = await fetch(url, { credentials: "same-origin" });
  let body = null;
  try {
    body = await r.json();
  } catch {
    body = null;
  }
  if (!r.ok) {
    const detail = body && typeof body.detail === "string" ? body.detail : r.statusText;
    throw new Error(detail || `HTTP ${r.status}`);
  }
  return body;
}

// The card's heading and message line; `say(text, kind)` replaces the message.
export function card(section, title) {
  const msg = section.querySelector(".msg") || document.createElement("p");
  const h = document.createElement("h2");
  h.textContent = title;
  section.prepend(h);
  if (!msg.parentNode) section.append(msg);
  const say = (text, kind = "") => {
    msg.textContent = text;
    msg.className = `msg ${kind}`.trim();
    msg.hidden = !text;
  };
  return { msg, say };
}

export function plotDiv(section, cls, height) {
  const div = document.createElement("div");
  div.className = cls;
  div.style.width = "100%";
  div.style.height = `${height}px`;
  section.append(div);
  return div;
}

export function sections(name) {
  return document.querySelectorAll(`section.view[data-view="${name}"]`);
}

// Plotly, once its script (loaded `async` on view pages, so that views without it start at
// once) has run.
export function whenPlotly() {
  return new Promise((resolve) => {
    const check = () => (window.Plotly ? resolve(window.Plotly) : setTimeout(check, 30));
    check();
  });
}
