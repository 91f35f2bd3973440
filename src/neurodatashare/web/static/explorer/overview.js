// The asset page's overview: what the session and subject were, the devices and
// electrodes at a glance, and the recording's span (from the `overview` endpoint).

import { fmtTime } from "./plot.js";
import { h, errorText, readable } from "./ui.js";

function facts(title, rows) {
  const dl = h("dl", { class: "facts" });
  for (const [k, v] of rows) {
    const text = Array.isArray(v) ? v.map(readable).filter(Boolean).join("; ") : readable(v);
    if (!text) continue;
    dl.append(h("dt", {}, k), h("dd", {}, text));
  }
  return h("div", { class: "ov-block" }, h("h3", {}, title), dl.children.length ? dl : h("p", { class: "muted" }, "Not given in the file."));
}

function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : `${iso.replace("T", " ")}`;
}

export function renderOverview(el, ov, { collapsed = false, open } = {}) {
  if (!el) return;
  el.hidden = false;
  el.replaceChildren();
  const box = h("details", { class: "card overview", open: !collapsed });
  box.append(h("summary", {}, h("strong", {}, "Overview"), h("span", { class: "muted" }, " · session, subject, devices and electrodes")));
  if (!ov || ov.error) {
    box.append(h("p", { class: "msg error" }, `The overview cannot be read: ${errorText(ov?.error)}`));
    el.append(box);
    return;
  }
  const s = ov.session || {};
  const sub = ov.subject || {};
  const grid = h("div", { class: "ov-grid" });
  grid.append(facts("Session", [
    ["Description", s.session_description], ["Start", when(s.session_start_time)], ["Session id", s.session_id],
    ["Experimenters", s.experimenter], ["Lab", s.lab], ["Institution", s.institution], ["Keywords", s.keywords],
    ["Experiment", s.experiment_description],
    ["Recording", ov.span ? `${fmtTime(ov.span[0])} – ${fmtTime(ov.span[1])} (${fmtTime(ov.span[1] - ov.span[0])})` : ""],
  ]));
  grid.append(ov.subject ? facts("Subject", [
    ["Subject id", sub.subject_id], ["Species", sub.species], ["Age", sub.age], ["Sex", sub.sex],
    ["Strain", sub.strain], ["Genotype", sub.genotype], ["Weight", sub.weight], ["Born", sub.date_of_birth],
    ["Description", sub.description],
  ]) : h("div", { class: "ov-block" }, h("h3", {}, "Subject"), h("p", { class: "muted" }, "The file has no subject.")));
  const devices = ov.devices || [];
  grid.append(facts(`Devices (${devices.length})`, devices.map((d) => [d.name, [d.description, d.manufacturer && `made by ${d.manufacturer}`].filter(Boolean).join(" · ") || "—"])));
  const e = ov.electrodes;
  if (e && (e.count || (e.groups || []).length)) {
    const rows = [["Electrodes", String(e.count)]];
    for (const g of e.groups || []) {
      rows.push([`group ${g.name}`, [g.electrodes !== undefined ? `${g.electrodes} electrodes` : null, g.location, g.device && `on ${g.device}`].filter(Boolean).join(" · ")]);
    }
    const locs = Object.entries(e.locations || {});
    if (locs.length) rows.push(["Regions", locs.map(([k, n]) => `${k} (${n})`).join(", ")]);
    grid.append(facts("Electrodes", rows));
  }
  box.append(grid);
  const counts = ov.counts || {};
  const bits = [];
  if (counts.units !== undefined) bits.push(`${counts.units} units`);
  if (counts.trials !== undefined) bits.push(`${counts.trials} trials`);
  if (ov.nwb_version) bits.push(`NWB ${ov.nwb_version}`);
  const foot = h("p", { class: "muted small" }, bits.join(" · "));
  if (ov.main && open) {
    const b = h("button", { type: "button", class: "link" }, ov.main);
    b.addEventListener("click", () => open(ov.main));
    foot.append(bits.length ? " · main acquisition: " : "main acquisition: ", b);
  }
  box.append(foot);
  el.append(box);
}
