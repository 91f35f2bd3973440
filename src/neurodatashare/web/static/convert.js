// The conversion wizard (web/convert_pages.py): formats -> sources and sessions -> metadata
// -> preview -> conversion and upload, each step a call of /api/convert/ with the session
// cookie. The metadata form is drawn from the converter's JSON schema; what the user sends
// is only what differs from what the files say, so each session keeps its own start time
// and file identifier.
"use strict";
(() => {
  const data = JSON.parse(document.getElementById("convert-data").textContent);
  const API = data.api;
  const $ = (id) => document.getElementById(id);
  const state = { formats: [], chosen: [], sources: {}, sessions: [], schema: null, prefill: {}, model: {}, previews: [], jobs: [], hardware: {} };

  const { el } = window.ndsDom;
  async function call(method, path, body) {
    const r = await fetch(API + path, {
      method, credentials: "same-origin",
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const answer = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(answer.detail || `The archive answered ${r.status}.`);
    return answer;
  }
  const size = (n) => (n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`);
  const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
  const plainSchema = (s) => {  // pydantic's "X or null" -> X
    const options = (s.anyOf || []).filter((o) => o.type !== "null");
    return options.length === 1 ? { ...options[0], description: s.description, default: s.default } : s;
  };

  // -- 1. formats ---------------------------------------------------------------------------
  function drawFormats() {
    const words = $("format-search").value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    // chosen formats first, then those whose name matches, then modality or file endings
    const rank = (f) => {
      const name = `${f.name} ${f.display_name}`.toLowerCase();
      const text = `${name} ${f.modality} ${(f.reads || []).join(" ")}`.toLowerCase();
      if (state.chosen.includes(f.name)) return 0;
      return words.every((w) => name.includes(w)) ? 1 : words.every((w) => text.includes(w)) ? 2 : 3;
    };
    const matches = state.formats.map((f) => [rank(f), f]).filter(([r]) => r < 3)
      .sort((a, b) => a[0] - b[0]).map(([, f]) => f);
    $("format-list").replaceChildren(...matches.map((f) => {
      const box = el("input", { type: "checkbox", value: f.name, checked: state.chosen.includes(f.name) });
      box.addEventListener("change", () => {
        state.chosen = box.checked ? [...state.chosen, f.name] : state.chosen.filter((n) => n !== f.name);
        drawStreams();
      });
      const status = f.installed ? el("span", { class: "muted small", text: " installed" })
        : el("code", { class: "install", text: f.install || "not installed" });
      return el("label", { class: "format", "data-format": f.name }, box,
        ` ${f.display_name} `, el("span", { class: "muted small", text: `(${f.name}, ${f.modality}) ` }), status);
    }));
    $("format-status").textContent = `${matches.length} of ${state.formats.length} formats.`;
  }

  // -- 2. sources, the folder browser, sessions ----------------------------------------------
  const isPath = (name, s) => /_path$/.test(name) || /path/.test(s.format || "");
  let browsing = null;  // [format, option] the browser fills in
  function drawStreams() {
    $("chosen").textContent = state.chosen.length ? state.chosen.join(", ") : "none yet";
    const box = $("streams");
    box.replaceChildren();
    for (const name of state.chosen) {
      const f = state.formats.find((x) => x.name === name);
      const schema = f.source_schema || { properties: {} };
      const required = new Set(schema.required || []);
      const values = (state.sources[name] ||= {});
      const stream = el("div", { class: "stream", "data-stream": name }, el("strong", { text: f.display_name }));
      const more = el("details", {}, el("summary", { class: "small", text: "More options" }));
      for (const [option, raw] of Object.entries(schema.properties || {})) {
        const s = plainSchema(raw);
        const input = s.type === "boolean" ? el("input", { type: "checkbox", checked: values[option] ?? s.default ?? false })
          : el("input", { type: s.type === "integer" || s.type === "number" ? "number" : "text", value: values[option] ?? "", name: option });
        input.addEventListener("input", () => {
          const v = input.type === "checkbox" ? input.checked : input.value.trim();
          if (v === "" || (input.type === "checkbox" && v === (s.default ?? false))) delete values[option];
          else values[option] = input.type === "number" ? Number(v) : s.type === "array" ? v.split(",").map((x) => x.trim()) : v;
          $("find-sessions").disabled = !ready();
        });
        const row = el("label", { class: "option" }, `${option}${required.has(option) ? " *" : ""} `, input);
        if (isPath(option, s)) {
          const pick = el("button", { type: "button", class: "secondary browse", text: "Browse" });
          pick.addEventListener("click", () => { browsing = [name, option, input]; browse(currentRoot()); });
          row.append(" ", pick);
        }
        if (s.description) row.title = s.description;
        (required.has(option) ? stream : more).append(row);
      }
      if (more.children.length > 1) stream.append(more);
      box.append(stream);
    }
    $("find-sessions").disabled = !ready();
  }
  const ready = () => state.chosen.length > 0 && state.chosen.every((n) => {
    const f = state.formats.find((x) => x.name === n);
    return (f.source_schema?.required || []).every((o) => state.sources[n]?.[o] !== undefined);
  });
  const currentRoot = () => $("root").value;

  async function browse(path) {
    $("browser").hidden = false;
    $("browse-error").textContent = "";
    try {
      const listing = await call("GET", `/convert/browse/?path=${encodeURIComponent(path)}`);
      $("browse-path").textContent = listing.path;
      $("browse-path").dataset.path = listing.path;
      $("browse-up").disabled = !listing.parent;
      $("browse-up").dataset.path = listing.parent || "";
      $("browse-entries").replaceChildren(...listing.entries.map((e) => {
        const b = el("button", { type: "button", class: "link", "data-path": e.path, text: e.name + (e.type === "folder" ? "/" : "") });
        b.addEventListener("click", () => (e.type === "folder" ? browse(e.path) : use(e.path)));
        return el("li", {}, b, e.type === "file" ? el("span", { class: "muted small", text: ` ${size(e.size)}` }) : "");
      }));
      if (listing.truncated) $("browse-error").textContent = "Only the first entries are listed.";
    } catch (err) { $("browse-error").textContent = err.message; }
  }
  function use(path) {  // a path under the chosen folder is written relative, ready for {subject_id}
    if (!browsing) return;
    const root = currentRoot().replace(/\/$/, "");
    const [, , input] = browsing;
    input.value = path.startsWith(root + "/") ? path.slice(root.length + 1) : path;
    input.dispatchEvent(new Event("input"));
    $("browser").hidden = true;
  }
  const full = (p) => (p.startsWith("/") ? p : `${currentRoot().replace(/\/$/, "")}/${p}`);
  const chosenStreams = (absolute) => state.chosen.map((name) => {
    const source = { ...state.sources[name] };
    for (const [k, v] of Object.entries(source)) if (/_path$/.test(k) && absolute) source[k] = full(v);
    return { format: name, source };
  });

  async function findSessions() {
    const status = $("sessions-status");
    const patterned = chosenStreams(false).some((s) => Object.values(s.source).some((v) => /\{(subject_id|session_id)\}/.test(String(v))));
    $("refused").textContent = "";
    try {
      if (patterned) {
        status.textContent = "Looking for sessions…";
        const found = await call("POST", "/convert/sessions/", { root: currentRoot(), streams: chosenStreams(false) });
        state.sessions = found.results.map((s) => ({ ...s, include: true }));
        $("refused").textContent = found.refused.map((r) => `${r.subject_id}/${r.session_id}: ${r.reason}`).join("\n");
      } else {
        state.sessions = [{ subject_id: "", session_id: "", streams: chosenStreams(true), include: true }];
      }
      status.textContent = `${state.sessions.length} session(s).`;
    } catch (err) { status.textContent = err.message; return; }
    drawSessions();
  }
  function drawSessions() {
    const body = $("sessions").querySelector("tbody");
    body.replaceChildren(...state.sessions.map((s, i) => {
      const include = el("input", { type: "checkbox", checked: s.include, "aria-label": "Convert this session" });
      include.addEventListener("change", () => { s.include = include.checked; });
      const id = (key) => {
        const input = el("input", { type: "text", value: s[key], name: key, size: 12, "aria-label": key });
        input.addEventListener("input", () => { s[key] = input.value.trim(); });
        return input;
      };
      const where = s.streams.map((st) => `${st.format}: ${Object.values(st.source).filter((v) => String(v).startsWith("/")).join(", ")}`);
      return el("tr", { "data-session": String(i) }, el("td", {}, include), el("td", {}, id("subject_id")), el("td", {}, id("session_id")),
        el("td", { class: "small" }, where.join("\n")));
    }));
    $("sessions").hidden = !state.sessions.length;
    $("load-metadata").disabled = !state.sessions.length;
  }

  // -- 3. the metadata form from the JSON schema ----------------------------------------------
  function resolve(s) {
    for (let i = 0; s && s.$ref && i < 10; i++) {
      s = s.$ref.replace(/^#\//, "").split("/").reduce((node, k) => (node ? node[k] : undefined), state.schema) || {};
    }
    return plainSchema(s || {});
  }
  const fieldId = (path) => "field-" + path.join(".");
  // what DANDI and the archive need to publish a file, though NeuroConv's schema has it optional
  const NEEDED = new Set(["Subject.species", "Subject.sex", "Subject.age"]);
  // filled per session by the wizard (the table's ids) or by the converter (a new identifier)
  const OWN = new Set(["Subject.subject_id", "NWBFile.session_id", "NWBFile.identifier",
    "NWBFile.source_script", "NWBFile.source_script_file_name"]);
  const get = (path) => path.reduce((n, k) => (n == null ? undefined : n[k]), state.model);
  function set(path, value) {
    let node = state.model;
    for (const k of path.slice(0, -1)) node = node[k] ??= {};
    if (value === undefined || value === "") delete node[path[path.length - 1]];
    else node[path[path.length - 1]] = value;
  }
  function field(schema, path, key, required) {
    const s = resolve(schema);
    const title = `${key}${required || NEEDED.has(path.join(".")) ? " *" : ""}`;
    const wrap = el("div", { class: "field", id: fieldId(path) });
    const note = s.description ? el("p", { class: "muted small", text: s.description }) : "";
    let input;
    if (s.properties) {
      const box = el("fieldset", { class: "field", id: fieldId(path) }, el("legend", { text: key }));
      const need = new Set(s.required || []);
      for (const [k, sub] of Object.entries(s.properties)) {
        if (sub.renderForm === false || OWN.has([...path, k].join("."))) continue;
        box.append(field(sub, [...path, k], k, need.has(k)));
      }
      return box;
    } else if (s.enum) {
      input = el("select", {}, el("option", { value: "", text: "—" }), ...s.enum.map((v) => el("option", { value: v, text: v, selected: get(path) === v })));
      input.addEventListener("change", () => set(path, input.value));
    } else if (s.type === "array" && resolve(s.items || {}).type === "string") {
      input = el("textarea", { rows: 2, name: path.join(".") }, (get(path) || []).join("\n"));
      input.addEventListener("input", () => set(path, input.value.split("\n").map((x) => x.trim()).filter(Boolean)));
      wrap.append(el("label", { text: `${title} (one per line)` }, input), note);
      return wrap;
    } else if (s.type === "string" || s.type === "number" || s.type === "integer") {
      const long = /description|notes|source_script$/.test(key);
      input = long ? el("textarea", { rows: 2 }, get(path) ?? "") : el("input", { type: s.type === "string" ? "text" : "number", value: get(path) ?? "" });
      input.addEventListener("input", () => set(path, input.type === "number" && input.value !== "" ? Number(input.value) : input.value));
    } else if (s.type === "boolean") {
      input = el("input", { type: "checkbox", checked: get(path) ?? false });
      input.addEventListener("change", () => set(path, input.checked));
    } else {  // a shape the form does not draw (a map of groups, a table's columns): its JSON
      input = el("textarea", { rows: 4, name: path.join(".") }, get(path) === undefined ? "" : JSON.stringify(get(path), null, 1));
      const hint = el("p", { class: "hint small" });
      input.addEventListener("input", () => {
        try { set(path, input.value.trim() ? JSON.parse(input.value) : undefined); hint.textContent = ""; } catch { hint.textContent = "Not valid JSON yet."; }
      });
      wrap.append(el("label", { text: `${title} (JSON)` }, input), hint, note);
      return wrap;
    }
    input.setAttribute("name", path.join("."));
    wrap.append(el("label", { text: title + " " }, input), note);
    return wrap;
  }
  async function loadMetadata() {
    const status = $("metadata-status");
    status.textContent = "Reading the files…";
    const first = state.sessions.find((s) => s.include) || state.sessions[0];
    try {
      const form = await call("POST", "/convert/metadata/", { streams: first.streams });
      state.schema = form.schema;
      state.prefill = form.metadata;
      state.model = structuredClone(form.metadata);
      const nwb = state.schema.properties.NWBFile;
      if (nwb && nwb.properties) {  // the archive's addition: a start time read without a zone
        nwb.properties.timezone = { type: "string", description: "An IANA name (Europe/Berlin) or an offset (+01:00) for a start time the files record without a timezone." };
        const start = state.model.NWBFile?.session_start_time;
        if (start && !/(Z|[+-]\d\d:?\d\d)$/.test(start)) state.model.NWBFile.timezone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      }
    } catch (err) { status.textContent = err.message; return; }
    const need = new Set(state.schema.required || []);
    const main = ["Subject", "NWBFile"].filter((k) => state.schema.properties[k]);
    const rest = Object.keys(state.schema.properties).filter((k) => !main.includes(k));
    const more = el("details", {}, el("summary", { text: `More: ${rest.join(", ")}` }));
    for (const k of rest) more.append(field(state.schema.properties[k], [k], k, need.has(k)));
    $("fields").replaceChildren(el("p", { class: "field-error", id: "metadata-problems" }),
      ...main.map((k) => field(state.schema.properties[k], [k], k, need.has(k))), ...hardwareFields(),
      ...(rest.length ? [more] : []));
    status.textContent = "Check the fields, then preview.";
    $("preview").disabled = false;
    $("convert").disabled = false;
  }
  // the probe and brain region, the microscope and imaging plane: the sections of
  // `nds convert`'s YAML, sent as `hardware` (NeuroConv's own shape for them is keyed maps)
  const HARDWARE = {
    ecephys: { modality: "extracellular electrophysiology", legend: "Probe and brain region", device: "Probe",
      fields: [["location", "Brain region of the electrodes (an Allen CCF acronym: VISp, CA1)"], ["description", "Electrode group description"]] },
    ophys: { modality: "optical physiology", legend: "Microscope and imaging plane", device: "Microscope",
      fields: [["location", "Brain region imaged (VISp, CA1)"], ["indicator", "Indicator (GCaMP6s, ...)"],
        ["excitation_lambda", "Excitation wavelength (nm)", "number"], ["emission_lambda", "Emission wavelength (nm)", "number"]] },
  };
  function hardwareFields() {
    const modalities = new Set(state.chosen.map((n) => state.formats.find((f) => f.name === n)?.modality));
    return Object.entries(HARDWARE).filter(([, spec]) => modalities.has(spec.modality)).map(([kind, spec]) => {
      const values = state.hardware[kind] ??= {};
      const input = (key, label, type = "text") => {
        const path = ["hardware", kind, key];
        const box = el("input", { type, name: path.join("."), value: values[key] ?? "" });
        box.addEventListener("input", () => { values[key] = type === "number" && box.value !== "" ? Number(box.value) : box.value.trim(); });
        return el("div", { class: "field", id: fieldId(path) }, el("label", { text: `${label} ` }, box));
      };
      return el("fieldset", { class: "field", id: fieldId(["hardware", kind]) }, el("legend", { text: spec.legend }),
        input("device_name", `Device name (default ${spec.device})`), input("manufacturer", "Manufacturer"),
        input("device_description", "Device description"), ...spec.fields.map(([key, label, type]) => input(key, label, type)));
    });
  }
  function hardwareRequest() {
    const out = { devices: [] };
    for (const [kind, values] of Object.entries(state.hardware)) {
      const { device_name: name, manufacturer, device_description: description, ...rest } = values;
      const section = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== "" && v !== undefined));
      if (name || manufacturer || description) {
        const device = name || HARDWARE[kind].device;
        out.devices.push({ name: device, ...(manufacturer && { manufacturer }), ...(description && { description }) });
        section.device = device;
      }
      if (Object.keys(section).length) out[kind] = section;
    }
    if (!out.devices.length) delete out.devices;
    return Object.keys(out).length ? out : undefined;
  }
  function diff(now, before) {  // what the user changed (objects key by key, anything else whole)
    if (now && typeof now === "object" && !Array.isArray(now) && before && typeof before === "object" && !Array.isArray(before)) {
      const out = {};
      for (const [k, v] of Object.entries(now)) {
        const d = diff(v, before[k]);
        if (d !== undefined) out[k] = d;
      }
      return Object.keys(out).length ? out : undefined;
    }
    return JSON.stringify(now) === JSON.stringify(before) ? undefined : now;
  }
  function sessionMetadata(s) {
    const changed = diff(state.model, state.prefill) || {};
    const subject = { ...(s.metadata?.Subject || {}), ...(changed.Subject || {}) };
    const nwb = { ...(s.metadata?.NWBFile || {}), ...(changed.NWBFile || {}) };
    if (s.subject_id) subject.subject_id = s.subject_id;
    if (s.session_id) nwb.session_id = s.session_id;
    return { ...changed, Subject: subject, NWBFile: nwb };
  }
  function showProblems(messages) {  // "Subject.species: ..." lines beside their fields
    document.querySelectorAll(".problem").forEach((n) => n.remove());
    const loose = [];
    const lines = [...new Set(messages.flatMap((m) => (m || "").split("\n")))];
    for (const line of lines) {
      const m = /^([A-Za-z][\w]*(?:\.[\w]+)+): (.*)$/.exec(line);
      let path = m ? m[1].split(".") : [];
      while (path.length && !$(fieldId(path))) path = path.slice(0, -1);
      if (m && path.length) $(fieldId(path)).append(el("p", { class: "problem field-error", text: m[2] }));
      else if (m || (line && !/^ |^Problem in the metadata/.test(line))) loose.push(line);
    }
    if ($("metadata-problems")) $("metadata-problems").textContent = loose.join("\n");
  }

  // -- 4 and 5. jobs: preview, conversion, upload ----------------------------------------------
  function report(job) {
    const v = job.result?.validation;
    if (!v) return el("p", { class: "field-error", text: job.error || "" });
    const counts = Object.entries(v.counts).map(([k, n]) => `${n} ${k}`).join(", ") || "no findings";
    const items = v.findings.map((f) => el("li", { "data-severity": f.severity }, el("strong", { text: f.severity }), ` ${f.check}: ${f.message}`));
    const blocking = v.findings.filter((f) => f.severity === "ERROR" || f.severity === "CRITICAL");
    const list = el("details", { open: blocking.length > 0 }, el("summary", { class: "small", text: `${v.findings.length} finding(s)` }), el("ul", {}, ...items));
    return el("div", { class: "report" },
      el("p", { class: v.publishable ? "" : "field-error", text: `${job.result.file} (${size(job.result.size)}): ${counts}; ${v.publishable ? "ready to upload" : "the archive would not publish this file"}.` }),
      ...(items.length ? [list] : []));
  }
  async function run(kind, box, s, i) {
    const row = el("div", { class: "job", "data-session": String(i), "data-state": "queued" });
    const bar = el("progress", { max: 1, value: 0, "aria-label": `${kind} of ${s.subject_id} ${s.session_id}` });
    const label = el("span", { class: "small", text: " queued" });
    row.append(el("strong", { text: `${s.subject_id || "?"} / ${s.session_id || "?"} ` }), bar, label);
    box.append(row);
    let job;
    try {
      job = await call("POST", "/convert/jobs/", { kind, streams: s.streams, metadata: sessionMetadata(s), hardware: hardwareRequest() });
      while (job.state !== "done" && job.state !== "failed") {
        await sleep(Math.min(3000, 300 + 100 * included().length));  // many sessions: fewer polls
        job = await call("GET", `/convert/jobs/${job.id}/`).catch(async (err) => {
          await sleep(1500);  // one dropped answer (a restart, the network) is not a failure
          if (!job.retried) return { ...job, retried: true };
          throw err;
        });
        bar.value = job.progress;
        label.textContent = ` ${job.stage || job.state}`;
      }
    } catch (err) { job = { state: "failed", error: err.message }; }
    bar.value = job.state === "done" ? 1 : bar.value;
    label.textContent = job.state === "done" ? " done" : " failed";
    row.dataset.state = job.state;
    row.append(report(job));
    if (job.links) {  // the file before it is uploaded; a new tab keeps the wizard's state
      row.append(el("p", { class: "small" },
        el("a", { href: job.links.explore, class: "explore-link", target: "_blank", rel: "noopener", text: "Open in the explorer" }),
        " · ", el("a", { href: job.links.file, download: "", text: "Download" })));
    }
    return { ...job, row };
  }
  const included = () => state.sessions.filter((s) => s.include);
  async function runAll(kind, box, status, button) {
    const unnamed = included().filter((s) => !s.subject_id || !s.session_id);
    if (unnamed.length) {
      status.textContent = "Give every session a subject and a session id (step 2).";
      return [];
    }
    button.disabled = true;
    box.replaceChildren();
    showProblems([]);
    status.textContent = kind === "preview" ? "Previewing…" : "Converting…";
    const jobs = await Promise.all(included().map((s) => run(kind, box, s, state.sessions.indexOf(s))));
    showProblems(jobs.filter((j) => j.state === "failed").map((j) => j.error));
    const good = jobs.filter((j) => j.state === "done" && j.result.validation.publishable).length;
    status.textContent = `${good} of ${jobs.length} file(s) ready to upload.`;
    button.disabled = false;
    return jobs;
  }
  async function uploadAll() {
    const dataset = $("dataset").value;
    const status = $("convert-status");
    if (!dataset) { status.textContent = "Choose one of your datasets first."; return; }
    $("upload").disabled = true;
    let done = 0;
    for (const job of state.jobs.filter((j) => j.state === "done")) {
      const row = job.row;
      try {
        const asset = await call("POST", `/convert/jobs/${job.id}/upload/`, { dataset_id: dataset });
        row.append(el("p", { class: "uploaded" }, "Added as ", el("a", { href: `/asset/${asset.asset_id}`, class: "asset-link", text: asset.path }),
          " (", el("a", { href: `/dandiset/${dataset}/draft`, text: `dataset ${dataset}` }), ")"));
        done++;
      } catch (err) { row.append(el("p", { class: "field-error", text: err.message })); }
    }
    status.textContent = `${done} file(s) added to dataset ${dataset}.`;
    document.body.dataset.uploaded = String(done);
  }
  async function createDataset() {  // open, as every new dataset is by default (nds create)
    const name = $("new-dataset").value.trim();
    const status = $("dataset-status");
    if (!name) { status.textContent = "Give the new dataset a name."; return; }
    try {
      const made = await call("POST", "/dandisets/", { name, metadata: { name } });
      await loadDatasets();
      $("dataset").value = made.identifier;
      status.textContent = `Created dataset ${made.identifier}.`;
    } catch (err) { status.textContent = err.message; }
  }
  async function loadDatasets() {
    try {
      const listed = await call("GET", "/dandisets/?user=me&embargoed=true&page_size=200");
      const items = listed.results.map((d) => el("option", { value: d.identifier,
        text: `${d.identifier} · ${(d.draft_version || d.most_recent_published_version || {}).name || ""}` }));
      $("dataset").replaceChildren(el("option", { value: "", text: items.length ? "— choose —" : "You have no dataset yet: create one" }), ...items);
    } catch (err) { $("dataset").replaceChildren(el("option", { value: "", text: err.message })); }
  }

  // -- wiring ----------------------------------------------------------------------------------
  $("root").replaceChildren(...data.roots.map((r) => el("option", { value: r, text: r })));
  $("format-search").addEventListener("input", drawFormats);
  $("browse-up").addEventListener("click", () => browse($("browse-up").dataset.path));
  $("browse-use").addEventListener("click", () => use($("browse-path").dataset.path));
  $("browse-close").addEventListener("click", () => { $("browser").hidden = true; });
  $("find-sessions").addEventListener("click", findSessions);
  $("load-metadata").addEventListener("click", loadMetadata);
  $("preview").addEventListener("click", async () => {
    state.previews = await runAll("preview", $("preview-results"), $("preview-status"), $("preview"));
  });
  $("convert").addEventListener("click", async () => {
    state.jobs = await runAll("conversion", $("convert-results"), $("convert-status"), $("convert"));
    $("upload").disabled = !state.jobs.some((j) => j.state === "done");
  });
  $("upload").addEventListener("click", uploadAll);
  $("create-dataset").addEventListener("click", createDataset);
  loadDatasets();
  call("GET", "/convert/formats/").then((answer) => {
    state.formats = answer.results;
    if (!answer.neuroconv.installed) $("format-status").textContent = `NeuroConv is not installed on the server: ${answer.neuroconv.install}`;
    drawFormats();
    document.body.dataset.convertReady = "1";
  }).catch((err) => { $("format-status").textContent = err.message; });
})();
