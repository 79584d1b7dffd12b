// A k3s version's support status on a date, from the support data: pure, so a test gives it any date.
// supported; deprecated when its end of life is within DEPRECATED_WITHIN_DAYS; end-of-life from that
// date on; unknown for a minor the data does not list (or a version that is not one).
import type { VersionSupportRow } from './support-data.js';

export const SUPPORT_STATUSES = ['supported', 'deprecated', 'end-of-life', 'unknown'] as const;
export type SupportStatus = (typeof SUPPORT_STATUSES)[number];

export const DEPRECATED_WITHIN_DAYS = 60;
const DAY_MS = 86_400_000;

export interface VersionSupport {
  status: SupportStatus;
  /** "1.31" for v1.31.4+k3s1; null when the version is not one. */
  minor: string | null;
  released: string | null;
  endOfMaintenance: string | null;
  endOfLife: string | null;
  /** Whole days until the end of life (0 on that day, negative after); null when unknown. */
  daysLeft: number | null;
}

/** "1.31" of v1.31.4+k3s1, 1.31.4, v1.31; undefined for anything else. */
export function minorOfVersion(version: string): string | undefined {
  const m = /^v?(\d{1,3})\.(\d{1,3})(?:[.+-]|$)/.exec(version.trim());
  return m ? `${Number(m[1])}.${Number(m[2])}` : undefined;
}

/** Midnight UTC that starts the date. */
export function dayStartMs(date: string): number {
  return Date.parse(`${date}T00:00:00Z`);
}

export function supportOf(rows: readonly VersionSupportRow[], version: string, nowMs: number): VersionSupport {
  const minor = minorOfVersion(version) ?? null;
  const row = minor === null ? undefined : rows.find((r) => r.minor === minor);
  if (!row)
    return { status: 'unknown', minor, released: null, endOfMaintenance: null, endOfLife: null, daysLeft: null };
  const eol = dayStartMs(row.endOfLife);
  const left = eol - nowMs;
  const status: SupportStatus =
    left <= 0 ? 'end-of-life' : left <= DEPRECATED_WITHIN_DAYS * DAY_MS ? 'deprecated' : 'supported';
  // Whole days: 1 on the day before, 0 on the day itself, -1 the day after.
  const daysLeft = left > 0 ? Math.ceil(left / DAY_MS) : -Math.floor(-left / DAY_MS);
  return {
    status,
    minor,
    released: row.released,
    endOfMaintenance: row.endOfMaintenance,
    endOfLife: row.endOfLife,
    daysLeft: daysLeft === 0 ? 0 : daysLeft,
  };
}

/** One line a person reads: "k3s 1.31 reaches end of life on 2025-10-28 (in 12 days)". */
export function supportMessage(what: string, s: VersionSupport): string {
  switch (s.status) {
    case 'supported':
      return `${what} ${s.minor} is supported until ${s.endOfLife} (${s.daysLeft} days left; regular maintenance ends ${s.endOfMaintenance})`;
    case 'deprecated':
      return `${what} ${s.minor} reaches end of life on ${s.endOfLife} (in ${s.daysLeft} day${s.daysLeft === 1 ? '' : 's'}): upgrade to the next minor`;
    case 'end-of-life':
      return `${what} ${s.minor} reached end of life on ${s.endOfLife} (${-(s.daysLeft ?? 0)} days ago): it gets no more fixes; upgrade one minor at a time`;
    default:
      return `${what} ${s.minor ?? '(unknown version)'} is not in the version support data: import newer data (atoll-hub versions import FILE)`;
  }
}
