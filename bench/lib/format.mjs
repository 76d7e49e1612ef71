/**
 * Tables and the machine header for the bench report.
 *
 * Exports:
 *   textTable(table)      Plain-text table with aligned columns (numbers right-aligned), title
 *                         above and notes below, for a terminal.
 *   markdownTable(table)  The same table as GitHub markdown (title in bold, notes as a list).
 *   machineInfo()         { cpu, cores, ramGiB, node, platform, loadavg: [1, 5, 15 min] }
 *   machineLines(info)    One-line-per-fact description of machineInfo() for the header.
 *   fmt(value, digits)    Number to fixed digits; '—' for null, undefined or NaN.
 *   ratio(value, base)    'x.xx×' of value over base; '—' when either is missing.
 *
 * A table is { title: string, columns: string[], rows: (string|number)[][], notes?: string[] }.
 */
import os from 'node:os';

const isNumeric = (s) => /^[-+]?[\d.,]+(\s?[%×a-zA-Z/]*)?$|^[<≤>≥]\s?[\d.]+/.test(s);

/** @param {unknown} v */
const cell = (v) => (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v)) ? '—' : String(v));

/** @param {{ title: string, columns: string[], rows: unknown[][], notes?: string[] }} table */
export function textTable(table) {
  const rows = table.rows.map((r) => table.columns.map((_, i) => cell(r[i])));
  const widths = table.columns.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i].length)));
  const line = (cells, header) =>
    cells
      .map((c, i) => (!header && i > 0 && isNumeric(c) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const out = [table.title, line(table.columns, true), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const r of rows) out.push(line(r, false));
  for (const n of table.notes ?? []) out.push(`  ${n}`);
  return out.join('\n');
}

/** @param {{ title: string, columns: string[], rows: unknown[][], notes?: string[] }} table */
export function markdownTable(table) {
  const esc = (s) => s.replace(/\|/g, '\\|');
  const rows = table.rows.map((r) => table.columns.map((_, i) => esc(cell(r[i]))));
  const align = table.columns.map((_, i) => (i > 0 && rows.length && rows.every((r) => r[i] === '—' || isNumeric(r[i])) ? '---:' : '---'));
  const out = [`**${table.title}**`, '', `| ${table.columns.map(esc).join(' | ')} |`, `| ${align.join(' | ')} |`];
  for (const r of rows) out.push(`| ${r.join(' | ')} |`);
  if (table.notes?.length) {
    out.push('');
    for (const n of table.notes) out.push(`- ${n}`);
  }
  return out.join('\n');
}

export function machineInfo() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model?.trim() ?? 'unknown',
    cores: cpus.length,
    ramGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    loadavg: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/** @param {ReturnType<typeof machineInfo>} m */
export function machineLines(m) {
  return [
    `CPU:      ${m.cpu}, ${m.cores} cores`,
    `RAM:      ${m.ramGiB} GiB`,
    `Node:     ${m.node} (${m.platform})`,
    `Load avg: ${m.loadavg.join(' / ')} (1 / 5 / 15 min, at start)`,
  ];
}

/** @param {number | null | undefined} v @param {number} [digits] */
export function fmt(v, digits = 1) {
  return v === null || v === undefined || Number.isNaN(v) ? '—' : Number.isFinite(v) ? v.toFixed(digits) : String(v);
}

/** @param {number | null | undefined} v @param {number | null | undefined} base */
export function ratio(v, base) {
  if (v === null || v === undefined || base === null || base === undefined || !Number.isFinite(v) || !Number.isFinite(base) || base === 0) return '—';
  return `${(v / base).toFixed(2)}×`;
}
