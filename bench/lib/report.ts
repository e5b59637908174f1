/** Formatting the fleet benchmarks share: counts, durations and plain-text tables. */

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/** Seconds since a performance.now() reading. */
export const seconds = (since: number): number => (performance.now() - since) / 1000;
export const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
export const kib = (bytes: number): string =>
  bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(2)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
export const count = (n: number): string => n.toLocaleString('en-US');
/** A share as a percentage, `–` when the whole is 0. */
export const percent = (part: number, whole: number): string =>
  whole > 0 ? `${((100 * part) / whole).toFixed(0)}%` : '–';

/** One column: its heading and width; `left` for a last free-text column. */
export interface Column {
  title: string;
  width: number;
  left?: boolean;
}

/** A table as lines: right-aligned cells under their headings, a rule under the header. */
export function table(columns: readonly Column[], rows: readonly (readonly string[])[], rulePadding = 0): string[] {
  const line = (cells: readonly string[]): string =>
    columns.map((c, i) => (c.left ? `  ${cells[i] ?? ''}` : (cells[i] ?? '').padStart(c.width))).join('');
  const header = line(columns.map((c) => c.title));
  return [header, '-'.repeat(header.length + rulePadding), ...rows.map(line)];
}
