// The element tree of a NeuroML file: every element with its id, type and key attributes,
// collapsible, with the validation report's findings on the element they name. Children
// the server did not send (deep levels, the rest of a big population) are fetched when a
// node is opened or "show more" is clicked.
// Data: GET explore/elements (docs/explorer-api.md).
import { card, endpoint, getJSON, sections } from "./lib/common.js";

const OPEN_DEPTH = 1; // levels open at first (deeper ones open where findings are)
const SHOWN_ATTRS = 4;
const SEVERITY_ORDER = ["CRITICAL", "ERROR", "WARNING", "BEST_PRACTICE_VIOLATION", "BEST_PRACTICE_SUGGESTION", "INFO"];

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function severityClass(s) {
  if (s === "CRITICAL" || s === "ERROR") return "error";
  if (s === "WARNING") return "warning";
  return "info";
}

function hasFindingsBelow(node) {
  if (node.findings && node.findings.length) return true;
  return (node.children || []).some(hasFindingsBelow);
}

function attrText(node) {
  const entries = Object.entries(node.attrs || {});
  const shown = entries.slice(0, SHOWN_ATTRS).map(([k, v]) => `${k}=${v}`);
  if (entries.length > SHOWN_ATTRS) shown.push(`+${entries.length - SHOWN_ATTRS} more`);
  return shown.join("  ");
}

function includeNote(node) {
  const inc = node.include;
  if (!inc) return null;
  if (inc.core) return el("span", { class: "muted small", text: " (NeuroML core definitions)" });
  if (inc.asset_id) {
    return el("a", { class: "small el-include", href: `/asset/${encodeURIComponent(inc.asset_id)}`, text: ` → ${inc.path}` });
  }
  return el("span", { class: "small el-missing", text: inc.path ? ` (${inc.path} is not in this dataset version)` : " (outside the dataset)" });
}

function findingsList(node) {
  if (!node.findings || !node.findings.length) return null;
  const ul = el("ul", { class: "el-findings" });
  for (const f of node.findings) {
    const li = el("li", { class: `el-finding ${severityClass(f.severity)}` });
    li.append(el("strong", { text: `${f.severity}: ` }), document.createTextNode(f.message || ""));
    if (f.how_to_fix) li.append(el("span", { class: "muted", text: ` — ${f.how_to_fix}` }));
    ul.append(li);
  }
  return ul;
}

class Tree {
  constructor(section, say) {
    this.section = section;
    this.say = say;
  }

  async fetch(path, offset = 0) {
    return getJSON(endpoint(this.section, "elements", { path, offset, limit: 50 }));
  }

  row(node, depth) {
    const li = el("li", { class: `el-node kind-${node.kind}`, "data-path": node.path });
    const canOpen = node.child_count > 0;
    const open = canOpen && node.children !== null && (depth < OPEN_DEPTH || hasFindingsBelow(node));
    const toggle = el("button", {
      type: "button",
      class: "el-toggle link",
      "aria-label": canOpen ? "Open or close" : null,
      disabled: !canOpen,
      text: canOpen ? (open ? "▾" : "▸") : "·",
    });
    const label = el("span", { class: "el-label" },
      el("code", { class: "el-tag", text: node.tag }),
      node.id ? el("strong", { class: "el-id", text: ` ${node.id}` }) : null,
      el("span", { class: "muted small el-attrs", text: attrText(node) ? `  ${attrText(node)}` : "" }),
      node.text ? el("span", { class: "muted small el-text", text: `  “${node.text}”` }) : null,
      includeNote(node),
      canOpen ? el("span", { class: "muted small", text: `  ${node.child_count.toLocaleString()} child${node.child_count === 1 ? "" : "ren"}` }) : null,
      node.line ? el("span", { class: "muted small el-line", text: `  line ${node.line}` }) : null,
    );
    if (node.findings && node.findings.length) {
      const worst = SEVERITY_ORDER.find((s) => node.findings.some((f) => f.severity === s)) || "INFO";
      label.append(el("span", { class: `badge el-badge ${severityClass(worst)}`, text: `${node.findings.length} finding${node.findings.length === 1 ? "" : "s"}` }));
    }
    const head = el("div", { class: "el-row", title: Object.entries(node.attrs || {}).map(([k, v]) => `${k}="${v}"`).join("\n") || null }, toggle, label);
    li.append(head);
    const found = findingsList(node);
    if (found) li.append(found);
    const list = el("ul", { class: "el-children" });
    list.hidden = !open;
    li.append(list);
    // a disclosure button per element (Tab to it, Enter or Space opens and closes it)
    if (canOpen) toggle.setAttribute("aria-expanded", open ? "true" : "false");
    let loaded = node.children !== null;
    if (loaded) this.fill(list, node, depth + 1);
    toggle.addEventListener("click", async () => {
      const opening = list.hidden;
      if (opening && !loaded) {
        toggle.textContent = "…";
        try {
          const data = await this.fetch(node.path);
          loaded = true;
          this.fill(list, data.root, depth + 1);
        } catch (e) {
          this.say(`That element's children cannot be shown: ${e.message}`, "error");
          toggle.textContent = "▸";
          return;
        }
      }
      list.hidden = !opening;
      toggle.textContent = opening ? "▾" : "▸";
      toggle.setAttribute("aria-expanded", opening ? "true" : "false");
    });
    return li;
  }

  fill(list, node, depth) {
    for (const child of node.children || []) list.append(this.row(child, depth));
    if (node.more) list.append(this.moreButton(list, node, depth));
  }

  moreButton(list, node, depth) {
    const tags = Object.entries(node.more.tags).map(([t, n]) => `${t} ×${n.toLocaleString()}`).join(", ");
    const button = el("button", { type: "button", class: "small el-more", text: `Show more (${node.more.count.toLocaleString()} left: ${tags})` });
    const li = el("li", { class: "el-more-row" }, button);
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const data = await this.fetch(node.path, node.more.offset);
        li.remove();
        this.fill(list, data.root, depth);
      } catch (e) {
        button.disabled = false;
        this.say(`More elements cannot be shown: ${e.message}`, "error");
      }
    });
    return li;
  }
}

async function init(section) {
  const { say } = card(section, "Elements");
  let data;
  try {
    data = await getJSON(endpoint(section, "elements"));
  } catch (e) {
    say(`The element tree cannot be shown: ${e.message}`, "error");
    return;
  }
  const tree = new Tree(section, say);
  const root = el("ul", { class: "el-tree", "aria-label": "Elements of the file" });
  root.append(tree.row(data.root, 0));
  section.append(root);
  const parts = [`${data.elements.toLocaleString()} elements`];
  if (data.report === "done") parts.push(data.findings ? `${data.findings} finding(s) from the validation report, shown on their elements` : "no findings in the validation report");
  else parts.push(`validation report ${data.report}`);
  if (data.message) {
    say(`${data.message} ${parts.join(" · ")}.`, data.partial ? "error" : "warning");
  } else {
    say(`${parts.join(" · ")}.`, "muted small");
  }
  section.dataset.ready = "1";
}

for (const section of sections("elements")) init(section);
