// Durations as operators write them: 500ms, 10s, 5m, 1h, or combinations like 1h30m.
import { AtollError } from '../certs/atoll-error.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string): number {
  const s = text.trim();
  if (/^\d+$/.test(s)) throw new AtollError('DURATION_INVALID', `duration "${text}" needs a unit (ms, s, m, h, d)`);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * UNIT_MS[m[2]];
    matched = re.lastIndex;
  }
  if (matched === 0 || matched !== s.length || total <= 0)
    throw new AtollError('DURATION_INVALID', `invalid duration "${text}" (use e.g. 500ms, 10s, 5m, 1h)`);
  return Math.round(total);
}

/** The inverse of parseDuration for whole units: 2592000000 -> "30d", 5400000 -> "1h30m". */
export function formatDuration(ms: number): string {
  let rest = Math.max(0, Math.round(ms));
  let out = '';
  for (const [unit, size] of Object.entries(UNIT_MS).sort((a, b) => b[1] - a[1])) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out || '0ms';
}
