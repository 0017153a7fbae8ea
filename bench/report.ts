/** Percentiles, counting helpers and the human-readable table. */

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] as number;
}

export function summary(values: number[]): { n: number; p50: number; p95: number; p99: number; max: number; mean: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / (sorted.length || 1);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
    mean,
  };
}

/** Counts by key, sorted by count (descending). */
export function countBy<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
}

export const sec = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s` : 'n/a');
export const msf = (ms: number) => (Number.isFinite(ms) ? `${Math.round(ms)} ms` : 'n/a');
/** Mebibytes, labelled as such (the goal "300 MB" is compared in bytes). */
export const mb = (bytes: number) => (Number.isFinite(bytes) && bytes > 0 ? `${(bytes / 1024 / 1024).toFixed(0)} MiB` : 'n/a');
export const num = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

/** Compact "a 12, b 3" rendering of a count record, the biggest first, at most `limit` entries. */
export function topCounts(counts: Record<string, number>, limit = 6): string {
  const entries = Object.entries(counts);
  const shown = entries.slice(0, limit).map(([k, v]) => `${k} ${v}`);
  if (entries.length > limit) shown.push(`+${entries.length - limit} more`);
  return shown.join(', ') || '0';
}

export interface Row {
  section?: string;
  label: string;
  values: string[];
}

/** A table with one column per fleet size; sections become separator lines. */
export function renderTable(headers: string[], rows: Row[]): string {
  const labelWidth = Math.max(...rows.map((r) => r.label.length), 6);
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r.values[i] ?? '').length)));
  const line = (label: string, cells: string[]) =>
    `${label.padEnd(labelWidth)}  ${cells.map((c, i) => c.padStart(widths[i] as number)).join('  ')}`.trimEnd();
  const out = [line('', headers), `${'-'.repeat(labelWidth)}  ${widths.map((w) => '-'.repeat(w)).join('  ')}`];
  for (const row of rows) {
    if (row.section) out.push(`[${row.section}]`);
    else out.push(line(row.label, row.values));
  }
  return out.join('\n');
}
