// `atoll-hub tokn`: plain `atoll-hub` runs the hub, so a word it does not know would reach `run`;
// it is answered as an unknown command instead, with the closest known one.
import { CliError } from './output.js';

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = row[j];
      row[j] = next;
    }
  }
  return row[b.length];
}

export function unknownCommand(word: string, known: string[]): CliError {
  const w = word.slice(0, 100);
  const best = known.map((k) => ({ k, d: distance(w, k) })).sort((x, y) => x.d - y.d)[0];
  const hint = best && best.d <= Math.max(1, Math.floor(best.k.length / 3)) ? ` (did you mean ${best.k}?)` : '';
  return new CliError(`unknown command "${w}"${hint}; see atoll-hub --help`, 2);
}
