// Rows of the table endpoint as objects, whatever the exact response shape.

import { LIMITS } from "./limits.js";
import { tableColumns } from "./units.js";

export function rowObjects(t) {
  const cols = tableColumns(t);
  const rows = t.rows || t.data || [];
  if (!Array.isArray(rows) && typeof rows === "object") {
    const n = Math.max(0, ...Object.values(rows).map((v) => v.length || 0));
    return Array.from({ length: n }, (_, i) => Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, v[i]])));
  }
  if (!rows.length) return [];
  if (Array.isArray(rows[0])) return rows.map((r) => Object.fromEntries(cols.map((c, i) => [c, r[i]])));
  return rows;
}

/** Every row of a (small) table, fetched page by page up to `max` rows. */
export async function allRows(api, path, { max = LIMITS.ALL_ROWS_MAX, sort = null, signal } = {}) {
  const out = [];
  let offset = 0;
  const limit = LIMITS.ALL_ROWS_PAGE;
  for (;;) {
    const t = await api.json("table", { path, offset, limit, sort }, { signal, cache: true });
    const rows = rowObjects(t);
    out.push(...rows);
    offset += rows.length;
    const total = t.filtered_total ?? t.n_matching ?? t.total ?? t.n_rows ?? t.count;
    if (!rows.length || offset >= (total ?? 0) || offset >= max) break;
  }
  return out;
}
