/** Longest cell shown in a table; longer text is cut with an ellipsis (`--json` shows it whole). */
export const cellLengthMax = 120;

/** Rows as aligned columns under a header, for people; scripts use `--json`. */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const cut = (cell: string): string => (cell.length > cellLengthMax ? `${cell.slice(0, cellLengthMax - 1)}…` : cell);
  const all = [header, ...rows].map((row) => row.map(cut));
  const widths = header.map((_, column) => Math.max(...all.map((row) => row[column]?.length ?? 0)));
  const lines = all.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('  ').trimEnd());
  return `${lines.join('\n')}\n`;
}

/** `label  value` lines, for one object. */
export function keyValues(rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(0, ...rows.map(([label]) => label.length));
  return `${rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n')}\n`;
}

export function isoTime(time: number): string {
  return Number.isFinite(time) ? new Date(time).toISOString() : String(time);
}

export function bytesText(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
