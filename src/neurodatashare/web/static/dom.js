// DOM helpers shared by the page scripts that build forms (edit.js, convert.js).
"use strict";
window.ndsDom = {
  // el("a", {href: "/x", text: "label"}, child, ...): an element with its attributes (true
  // for a bare one; false, null and undefined leave it out), its text and its children
  el(tag, attrs = {}, ...kids) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "text") node.textContent = v;
      else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
    }
    node.append(...kids);
    return node;
  },
};
