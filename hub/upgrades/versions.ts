// k3s version arithmetic for upgrades: parse, compare minors, classify a move from one version to another.
import { compareK3sVersions } from '../versions/compare.js';

export interface K3sVersionParts {
  major: number;
  minor: number;
  patch: number;
}

export function parseK3sVersion(v: string): K3sVersionParts | undefined {
  const m = /^v(\d+)\.(\d+)\.(\d+)/.exec(v);
  return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) } : undefined;
}

/** "v1.31" for v1.31.4+k3s1. */
export function minorOf(v: string): string {
  const p = parseK3sVersion(v);
  return p ? `v${p.major}.${p.minor}` : v;
}

/** How many minors `to` is ahead of `from` (negative when behind); NaN when either is unparsable or the majors differ. */
export function minorDistance(from: string, to: string): number {
  const a = parseK3sVersion(from);
  const b = parseK3sVersion(to);
  if (!a || !b || a.major !== b.major) return Number.NaN;
  return b.minor - a.minor;
}

export type VersionMove = 'same' | 'patch' | 'minor' | 'downgrade' | 'minor-skip';

export function classifyMove(from: string, to: string): VersionMove {
  const c = compareK3sVersions(from, to);
  if (c === 0) return 'same';
  if (c > 0) return 'downgrade';
  const d = minorDistance(from, to);
  if (d === 0) return 'patch';
  if (d === 1) return 'minor';
  return 'minor-skip';
}

export { compareK3sVersions };
