// Go's text/tabwriter with AlignLeft, as `k3s token list` uses it: every cell but the last of a
// line is padded to its column's width (at least minwidth, else widest cell + padding).

export interface TabwriterOptions {
  readonly minwidth: number;
  readonly padding: number;
}

export function tabwrite(rows: readonly (readonly string[])[], opts: TabwriterOptions): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.slice(0, -1).forEach((cell, i) => {
      const w = Math.max(opts.minwidth, [...cell].length + opts.padding);
      widths[i] = Math.max(widths[i] ?? 0, w);
    });
  }
  return rows
    .map(
      (row) =>
        row
          .map((cell, i) =>
            i < row.length - 1 ? cell.padEnd((widths[i] ?? 0) + cell.length - [...cell].length, ' ') : cell,
          )
          .join('') + '\n',
    )
    .join('');
}
