// The file's object tree: an ARIA tree with a roving tab stop, arrow-key navigation,
// a filter box, and badges for types, shapes and the views each object has.

const VIEW_LABELS = {
  traces: "Traces", units: "Units", imaging: "Imaging", segmentation: "ROIs",
  behavior: "Behaviour", events: "Events", table: "Table",
  snippets: "Snippets", bands: "Bands", picture: "Picture",
};
export { VIEW_LABELS };

const OPEN_BY_DEFAULT = new Set(["/", "/acquisition", "/processing", "/intervals", "/stimulus", "/analysis"]);

const order = (a, b) => {
  const av = (a.views || []).length ? 0 : 1;
  const bv = (b.views || []).length ? 0 : 1;
  if (a.kind !== b.kind) return a.kind === "group" ? -1 : 1;
  return av - bv || a.name.localeCompare(b.name);
};

// A group whose children have not all been loaded yet (large files come in pages; see
// docs/explorer-api.md): `child_count` says how many it has.
export function isIncomplete(n) {
  return n.kind === "group" && typeof n.child_count === "number" && n.children.length < n.child_count;
}

function link(byPath, n) {
  const parentPath = n.path.slice(0, n.path.lastIndexOf("/")) || "/";
  let parent = byPath.get(parentPath);
  if (!parent) {
    parent = { path: parentPath, name: parentPath.split("/").pop(), kind: "group", children: [], views: [] };
    byPath.set(parentPath, parent);
    if (parentPath !== "/") link(byPath, parent);
  }
  parent.children.push(n);
  return parent;
}

export function buildTree(nodes) {
  const byPath = new Map();
  for (const n of nodes) byPath.set(n.path, { ...n, children: [] });
  if (!byPath.has("/")) byPath.set("/", { path: "/", name: "", kind: "group", children: [], views: [] });
  for (const n of [...byPath.values()]) {
    if (n.path !== "/") link(byPath, n);
  }
  for (const n of byPath.values()) n.children.sort(order);
  return { root: byPath.get("/"), byPath };
}

// Add a later page of nodes (children of a group opened on demand) to a built tree.
export function addNodes(tree, nodes) {
  const touched = new Set();
  for (const raw of nodes) {
    if (tree.byPath.has(raw.path)) continue;
    const n = { ...raw, children: [] };
    tree.byPath.set(n.path, n);
    touched.add(link(tree.byPath, n));
  }
  for (const parent of touched) parent.children.sort(order);
}

function shapeText(n) {
  if (!n.shape) return "";
  return n.shape.length ? n.shape.map((x) => x.toLocaleString("en-US")).join(" × ") : "scalar";
}

function hasViewBelow(n) {
  return (n.views || []).length > 0 || n.children.some(hasViewBelow);
}

export class TreeView {
  constructor(container, tree, { onOpen, loadChildren = null, selected = [] }) {
    this.container = container;
    this.tree = tree;
    this.onOpen = onOpen;
    this.loadChildren = loadChildren;
    this.selected = new Set(selected);
    this.expanded = new Set(OPEN_BY_DEFAULT);
    for (const n of tree.byPath.values()) {
      if (n.path.split("/").length === 3 && n.path.startsWith("/processing/")) this.expanded.add(n.path);
    }
    for (const p of selected) this.revealPath(p);
    this.filter = "";
    this.focusPath = selected[0] || null;
    this.render();
    container.addEventListener("keydown", (e) => this.onKey(e));
    container.addEventListener("click", (e) => this.onClick(e));
  }

  revealPath(path) {
    let p = path;
    while (p && p !== "/") {
      p = p.slice(0, p.lastIndexOf("/")) || "/";
      this.expanded.add(p);
    }
  }

  setSelected(paths) {
    this.selected = new Set(paths);
    for (const li of this.container.querySelectorAll("[role=treeitem]")) {
      li.setAttribute("aria-selected", this.selected.has(li.dataset.path) ? "true" : "false");
    }
  }

  setFilter(text) {
    this.filter = text.trim().toLowerCase();
    this.render();
  }

  matches(n) {
    if (!this.filter) return true;
    const hay = `${n.path} ${n.neurodata_type || ""}`.toLowerCase();
    return hay.includes(this.filter);
  }

  visibleBelow(n) {
    return this.matches(n) || n.children.some((c) => this.visibleBelow(c));
  }

  render() {
    const ul = document.createElement("ul");
    ul.setAttribute("role", "tree");
    ul.setAttribute("aria-label", "Objects in the file");
    ul.className = "tree";
    const root = this.tree.root;
    for (const child of root.children) this.renderNode(child, ul, 1);
    this.container.replaceChildren(ul);
    if (!ul.children.length) {
      const p = document.createElement("p");
      p.className = "muted";
      p.textContent = this.filter ? "No object matches the filter." : "The file holds no objects.";
      this.container.append(p);
    }
    const items = this.items();
    const target = items.find((li) => li.dataset.path === this.focusPath) || items[0];
    if (target) target.tabIndex = 0;
  }

  renderNode(n, parentUl, level) {
    if (!this.visibleBelow(n)) return;
    const li = document.createElement("li");
    li.setAttribute("role", "treeitem");
    li.dataset.path = n.path;
    li.tabIndex = -1;
    li.setAttribute("aria-level", String(level));
    li.setAttribute("aria-selected", this.selected.has(n.path) ? "true" : "false");
    const open = this.filter ? true : this.expanded.has(n.path);
    const expandable = n.children.length > 0 || isIncomplete(n);
    if (expandable) li.setAttribute("aria-expanded", open ? "true" : "false");
    const row = document.createElement("div");
    row.className = "row";
    if ((n.views || []).length) row.classList.add("viewable");
    else if (!hasViewBelow(n)) row.classList.add("plain");
    const twist = document.createElement("span");
    twist.className = "twist";
    twist.setAttribute("aria-hidden", "true");
    twist.textContent = expandable ? (open ? "▾" : "▸") : "";
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = n.name || "/";
    row.append(twist, name);
    if (n.neurodata_type && n.neurodata_type !== n.name) {
      const t = document.createElement("span");
      t.className = "type";
      t.textContent = n.neurodata_type;
      row.append(t);
    }
    if (n.kind === "dataset") {
      const s = document.createElement("span");
      s.className = "shape";
      s.textContent = [shapeText(n), n.dtype].filter(Boolean).join(" ");
      row.append(s);
    }
    for (const v of n.views || []) {
      const b = document.createElement("span");
      b.className = `vbadge v-${v}`;
      b.textContent = VIEW_LABELS[v] || v;
      row.append(b);
    }
    if ((n.views || []).length) {
      const add = document.createElement("button");
      add.type = "button";
      add.className = "add";
      add.tabIndex = -1;
      add.title = "Show beside the open views (Shift+Enter)";
      add.setAttribute("aria-label", `Add ${n.path} beside the open views`);
      add.textContent = "+";
      row.append(add);
    }
    row.title = n.path + (n.description ? `\n${n.description}` : "");
    li.append(row);
    if (n.children.length && open) {
      const group = document.createElement("ul");
      group.setAttribute("role", "group");
      for (const c of n.children) this.renderNode(c, group, level + 1);
      li.append(group);
    }
    if (open && isIncomplete(n) && n.loading) {
      const more = document.createElement("p");
      more.className = "muted";
      more.textContent = "Loading…";
      li.append(more);
    }
    parentUl.append(li);
  }

  items() {
    return [...this.container.querySelectorAll("[role=treeitem]")];
  }

  focus(li) {
    if (!li) return;
    for (const x of this.items()) x.tabIndex = -1;
    li.tabIndex = 0;
    this.focusPath = li.dataset.path;
    li.focus();
    li.querySelector(".row")?.scrollIntoView({ block: "nearest" });
  }

  toggle(path, open) {
    const want = open ?? !this.expanded.has(path);
    if (want) this.expanded.add(path);
    else this.expanded.delete(path);
    this.focusPath = path;
    const node = this.tree.byPath.get(path);
    if (want && node && isIncomplete(node) && this.loadChildren && !node.loading) {
      node.loading = true;
      this.loadChildren(path)
        .then((nodes) => addNodes(this.tree, nodes))
        .catch(() => { node.child_count = node.children.length; })
        .finally(() => {
          node.loading = false;
          this.render();
          this.focus(this.items().find((li) => li.dataset.path === path));
        });
    }
    this.render();
    this.focus(this.items().find((li) => li.dataset.path === path));
  }

  onClick(e) {
    const li = e.target.closest("[role=treeitem]");
    if (!li) return;
    e.stopPropagation();
    const path = li.dataset.path;
    const node = this.tree.byPath.get(path);
    const expandable = node.children.length > 0 || isIncomplete(node);
    if (e.target.closest(".twist") && expandable) {
      this.toggle(path);
      return;
    }
    if (e.target.closest(".add")) {
      this.focusPath = path;
      this.onOpen(path, { add: true });
      return;
    }
    this.focus(li);
    if (expandable && !(node.views || []).length) this.toggle(path);
    this.onOpen(path, { add: e.shiftKey || e.ctrlKey || e.metaKey });
  }

  onKey(e) {
    const li = e.target.closest("[role=treeitem]");
    if (!li) return;
    const items = this.items();
    const i = items.indexOf(li);
    const path = li.dataset.path;
    const node = this.tree.byPath.get(path);
    const expanded = li.getAttribute("aria-expanded");
    let handled = true;
    switch (e.key) {
      case "ArrowDown": this.focus(items[i + 1]); break;
      case "ArrowUp": this.focus(items[i - 1]); break;
      case "Home": this.focus(items[0]); break;
      case "End": this.focus(items[items.length - 1]); break;
      case "ArrowRight":
        if (expanded === "false") this.toggle(path, true);
        else if (expanded === "true") this.focus(items[i + 1]);
        break;
      case "ArrowLeft":
        if (expanded === "true") this.toggle(path, false);
        else {
          const parent = li.parentElement.closest("[role=treeitem]");
          if (parent) this.focus(parent);
        }
        break;
      case "Enter":
      case " ":
        if ((node.children.length || isIncomplete(node)) && !(node.views || []).length) this.toggle(path);
        else this.onOpen(path, { add: e.shiftKey });
        break;
      default: handled = false;
    }
    if (handled) {
      e.preventDefault();
      e.stopPropagation();
    }
  }
}
