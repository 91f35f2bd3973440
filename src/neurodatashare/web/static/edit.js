// The metadata editor: a form generated from dandischema's JSON schema (web/edit_pages.py).
// The draft's metadata lives in `model`; every input writes its value at its path; adding
// or removing a list item draws the form again. Saving PUTs the metadata and shows
// dandischema's errors beside their fields, in plain words.
"use strict";
(() => {
  const data = JSON.parse(document.getElementById("edit-data").textContent);
  const defs = data.schema.$defs || {};
  const model = structuredClone(data.metadata);
  const LONG = new Set(["description", "acknowledgement", "releaseNotes"]);
  const fields = document.getElementById("fields");
  let problems = data.problems;

  const { el } = window.ndsDom;
  const resolve = (s) => {
    let out = s || {};
    for (let i = 0; out.$ref && i < 10; i++) out = defs[out.$ref.split("/").pop()] || {};
    return out;
  };
  // a field's schema without pydantic's "or null", keeping the outer title and description
  const plain = (s) => {
    const base = resolve(s);
    const options = (base.anyOf || []).filter((o) => o.type !== "null");
    if (options.length === 1) return { ...resolve(options[0]), title: base.title, description: base.description };
    return base;
  };
  const id = (path) => "field-" + path.join(".");
  const label = (value) => String(value).replace(/^[a-z]+:/, "").replace(/([a-z])([A-Z])/g, "$1 $2");

  function get(path) { return path.reduce((node, k) => (node == null ? undefined : node[k]), model); }
  function set(path, value) {
    let node = model;
    path.slice(0, -1).forEach((k, i) => {
      if (node[k] == null) node[k] = typeof path[i + 1] === "number" ? [] : {};
      node = node[k];
    });
    const last = path[path.length - 1];
    if (value === undefined || value === "" || (Array.isArray(value) && !value.length)) {
      if (Array.isArray(node)) node[last] = value ?? ""; else delete node[last];
    } else node[last] = value;
  }

  // identifiers: ORCID by its check digit (ISO 7064 11,2), ROR by its form; no look-up leaves
  function orcidProblem(text) {
    if (!/^\d{4}-\d{4}-\d{4}-\d{3}[\dX]$/.test(text)) return "An ORCID looks like 0000-0002-1825-0097.";
    const digits = text.replace(/-/g, "");
    let total = 0;
    for (const c of digits.slice(0, 15)) total = (total + Number(c)) * 2;
    const check = (12 - (total % 11)) % 11;
    return digits[15] === (check === 10 ? "X" : String(check)) ? "" : "This ORCID's last digit does not match: check for a typo.";
  }
  function rorProblem(text) {
    return /^https:\/\/ror\.org\/0[a-z0-9]{6}\d{2}$/.test(text) ? "" : "A ROR id looks like https://ror.org/02mhbdp94.";
  }

  function scalar(schema, path, key) {
    const value = get(path);
    const wrap = el("div", { class: "field", id: id(path) });
    const name = schema.title || label(key);
    const input = (() => {
      if (schema.enum) {
        const select = el("select", { "aria-label": name }, el("option", { value: "", text: "—" }));
        for (const v of schema.enum) select.append(el("option", { value: v, text: label(v), selected: v === value }));
        return select;
      }
      if (schema.type === "boolean") return el("input", { type: "checkbox", checked: value ?? schema.default ?? false });
      if (LONG.has(key)) return el("textarea", { rows: 5 }, value ?? "");
      const type = schema.format === "email" ? "email" : schema.format === "uri" ? "url"
        : schema.type === "integer" || schema.type === "number" ? "number" : "text";
      return el("input", { type, value: value ?? "" });
    })();
    input.dataset.path = JSON.stringify(path);
    const hint = el("p", { class: "hint" });
    const check = () => {
      const text = input.value.trim();
      const person = get(path.slice(0, -1))?.schemaKey;
      const problem = key !== "identifier" || !text ? ""
        : person === "Person" ? orcidProblem(text) : person === "Organization" ? rorProblem(text) : "";
      hint.textContent = problem;
      hint.className = problem ? "hint field-error" : "hint";
    };
    input.addEventListener("input", () => {
      const raw = input.type === "checkbox" ? input.checked : input.value;
      set(path, input.type === "number" && raw !== "" ? Number(raw) : raw);
      check();
    });
    check();
    const title = el("label", { text: name + (schema.required ? " *" : "") });
    title.prepend(input.type === "checkbox" ? input : "");
    if (input.type !== "checkbox") title.append(input);
    wrap.append(title);
    if (schema.description) wrap.append(el("p", { class: "muted small", text: schema.description }));
    wrap.append(hint);
    return wrap;
  }

  function rawJson(schema, path, key) {  // a shape the form does not draw: its JSON
    const wrap = el("div", { class: "field", id: id(path) });
    const area = el("textarea", { rows: 4, "aria-label": schema.title || key }, JSON.stringify(get(path) ?? null, null, 1));
    const hint = el("p", { class: "hint" });
    area.addEventListener("input", () => {
      try { set(path, area.value.trim() ? JSON.parse(area.value) : undefined); hint.textContent = ""; }
      catch { hint.textContent = "Not valid JSON yet."; }
    });
    wrap.append(el("label", { text: `${schema.title || label(key)} (JSON)` }, area), hint);
    return wrap;
  }

  function itemSchema(items, value) {
    const base = resolve(items);
    const choices = base.discriminator ? Object.keys(base.discriminator.mapping) : null;
    if (!choices) return { schema: plain(items), choices: null };
    const key = value?.schemaKey || choices[0];
    return { schema: resolve({ $ref: base.discriminator.mapping[key] }), choices };
  }

  function object(schema, path) {
    const box = el("div", { class: "object" });
    const required = new Set(schema.required || []);
    for (const [key, sub] of Object.entries(schema.properties || {})) {
      if (sub.readOnly || key === "id") continue;
      if (sub.const !== undefined) { set([...path, key], sub.const); continue; }
      box.append(field({ ...plain(sub), required: required.has(key) }, [...path, key], key));
    }
    return box;
  }

  function array(schema, path, key) {
    const wrap = el("fieldset", { class: "field", id: id(path) }, el("legend", { text: (schema.title || label(key)) + (schema.required ? " *" : "") }));
    if (schema.description) wrap.append(el("p", { class: "muted small", text: schema.description }));
    const items = resolve(schema.items);
    const values = get(path) || [];
    if (items.enum) {  // a set of choices: check boxes
      const group = el("div", { class: "choices" });
      for (const v of items.enum) {
        const box = el("input", { type: "checkbox", checked: values.includes(v) });
        box.addEventListener("change", () => {
          const now = new Set(get(path) || []);
          box.checked ? now.add(v) : now.delete(v);
          set(path, items.enum.filter((x) => now.has(x)));
        });
        group.append(el("label", { class: "choice" }, box, " " + label(v)));
      }
      wrap.append(group);
      return wrap;
    }
    values.forEach((value, i) => {
      const { schema: sub } = itemSchema(schema.items, value);
      const item = el("div", { class: "item" });
      const remove = el("button", { type: "button", class: "secondary", text: "Remove" });
      remove.addEventListener("click", () => { get(path).splice(i, 1); draw(); });
      item.append(sub.properties ? object(sub, [...path, i]) : field(sub, [...path, i], key), remove);
      wrap.append(item);
    });
    const { choices } = itemSchema(schema.items, null);
    const add = el("button", { type: "button", class: "secondary" });
    const kind = choices ? el("select", { "aria-label": "Kind of item" }, ...choices.map((c) => el("option", { value: c, text: c }))) : null;
    add.textContent = `Add ${choices ? "" : "an item"}`.trim();
    add.addEventListener("click", () => {
      const made = choices ? { schemaKey: kind.value } : (resolve(itemSchema(schema.items, null).schema).properties ? {} : "");
      set(path, [...(get(path) || []), made]);
      draw();
    });
    wrap.append(el("p", { class: "add" }, ...(kind ? [kind, " "] : []), add));
    return wrap;
  }

  function field(schema, path, key) {
    if (schema.type === "array") return array(schema, path, key);
    if (schema.properties) {
      const box = el("fieldset", { class: "field", id: id(path) }, el("legend", { text: schema.title || label(key) }));
      box.append(object(schema, path));
      return box;
    }
    if (["string", "boolean", "integer", "number"].includes(schema.type) || schema.enum) return scalar(schema, path, key);
    return rawJson(schema, path, key);
  }

  // dandischema's messages in a scientist's words
  function plainWords(message) {
    const rules = [
      [/^Field required$/, "This is required."],
      [/not a valid email address/, "This is not an e-mail address (like name@example.org)."],
      [/should match pattern '\^\\d\{4\}-\\d\{4\}/, "An ORCID looks like 0000-0002-1825-0097."],
      [/should match pattern/, "This does not have the expected form."],
      [/valid URL/, "This is not a web address (like https://example.org)."],
      [/Input should be '([^']+)'(?:, '([^']+)')*/, "Choose one of the listed values."],
      [/Contact person must have an email/, "The contact person needs an e-mail address."],
    ];
    for (const [re, words] of rules) if (re.test(message)) return words;
    return message.replace(/^Value error, /, "");
  }
  const fieldPath = (dotted) => (dotted || "").split(".").filter((s) => s && !/^[A-Z]/.test(s));

  function showProblems() {
    document.querySelectorAll(".problem").forEach((n) => n.remove());
    const list = document.getElementById("needs");
    list.replaceChildren();
    for (const p of problems) {
      let path = fieldPath(p.field).map((s) => (/^\d+$/.test(s) ? Number(s) : s));
      while (path.length && !document.getElementById(id(path))) path = path.slice(0, -1);
      const words = plainWords(p.message);
      const where = path.length ? document.getElementById(id(path)) : null;
      if (where) where.append(el("p", { class: "problem field-error", text: words }));
      const named = fieldPath(p.field).map((s) => (/^\d+$/.test(s) ? `#${Number(s) + 1}` : label(s))).join(" › ");
      const title = named ? named[0].toUpperCase() + named.slice(1) : "Metadata";
      const link = el("a", { href: where ? "#" + id(path) : "#meta-form", text: title + ": " });
      list.append(el("li", {}, link, words));
    }
    document.getElementById("ready").hidden = problems.length > 0;
    document.getElementById("publish").disabled = problems.length > 0;
  }

  function draw() {
    const schema = data.schema;
    const required = new Set(schema.required || []);
    fields.replaceChildren(...Object.entries(schema.properties).map(([key, sub]) =>
      field({ ...plain(sub), required: required.has(key) }, [key], key)));
    showProblems();
  }

  const url = `${data.api}/dandisets/${data.dataset}/versions/draft/`;
  document.getElementById("meta-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = document.getElementById("save-status");
    status.textContent = "Saving…";
    const r = await fetch(url, {
      method: "PUT", credentials: "same-origin", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ metadata: model, name: model.name }),
    });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) { status.textContent = `Not saved: ${body.detail || r.status}`; return; }
    problems = body.version_validation_errors || [];
    status.textContent = problems.length ? `Saved, with ${problems.length} thing(s) to fix before publishing.` : "Saved.";
    showProblems();
  });
  document.getElementById("publish").addEventListener("click", async () => {
    const status = document.getElementById("publish-status");
    status.textContent = "Publishing…";
    const r = await fetch(`${url}publish/`, { method: "POST", credentials: "same-origin" });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) { status.textContent = body.detail || `The archive answered ${r.status}.`; return; }
    window.location.assign(`/dandiset/${data.dataset}/${encodeURIComponent(body.version)}`);
  });
  draw();
  document.body.dataset.editorReady = "1";
})();
