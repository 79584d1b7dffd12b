// The Kubernetes version support data: each minor's release, end of maintenance (upstream's
// "maintenance mode start": the end of its 12 months of regular support) and end of life (2 months
// later), as kubernetes.io/releases publishes them. Bundled in kubernetes-support.json; an operator
// updates it without a new atoll with `atoll-hub versions import FILE`, checked here first.
import bundled from './kubernetes-support.json' with { type: 'json' };
import type { VersionSupportRow } from '../store/day2-types.js';
import { AtollError } from '../../certs/atoll-error.js';

export type { VersionSupportRow } from '../store/day2-types.js';

export interface SupportDocument {
  source: string;
  minors: VersionSupportRow[];
}

/** At most this many minors in one document (about 40 years of releases). */
export const MAX_MINORS = 200;
const TOP_KEYS = new Set(['source', 'updated', 'comment', 'minors']);
const ROW_KEYS = ['minor', 'released', 'endOfMaintenance', 'endOfLife'] as const;
const MINOR_RE = /^(\d{1,3})\.(\d{1,3})$/;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A support document that fails its checks: every problem found, each naming where it is. */
export class SupportDataError extends AtollError<'VALIDATION'> {
  constructor(readonly problems: string[]) {
    super(
      'VALIDATION',
      `invalid version support data: ${problems.slice(0, 10).join('; ')}${problems.length > 10 ? `; and ${problems.length - 10} more` : ''}`,
    );
    this.name = 'SupportDataError';
  }
}

/** A real calendar date in YYYY-MM-DD (2025-02-30 is not). */
export function isDate(v: unknown): v is string {
  if (typeof v !== 'string') return false;
  const m = DATE_RE.exec(v);
  if (!m) return false;
  const d = new Date(`${v}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === v;
}

function minorParts(minor: string): [number, number] {
  const m = MINOR_RE.exec(minor);
  return m ? [Number(m[1]), Number(m[2])] : [Number.NaN, Number.NaN];
}

export function compareMinors(a: string, b: string): number {
  const [am, an] = minorParts(a);
  const [bm, bn] = minorParts(b);
  return am - bm || an - bn;
}

const show = (v: unknown): string => JSON.stringify(v)?.slice(0, 40) ?? String(v);

/** Checks one row; returns it when good, else pushes its problems. */
function checkRow(row: unknown, where: string, problems: string[]): VersionSupportRow | undefined {
  if (typeof row !== 'object' || row === null || Array.isArray(row)) {
    problems.push(`${where} must be an object with ${ROW_KEYS.join(', ')}`);
    return undefined;
  }
  const r = row as Record<string, unknown>;
  const before = problems.length;
  for (const k of Object.keys(r))
    if (!(ROW_KEYS as readonly string[]).includes(k))
      problems.push(`${where}: unknown field "${k.slice(0, 40)}" (known: ${ROW_KEYS.join(', ')})`);
  if (typeof r.minor !== 'string' || !MINOR_RE.test(r.minor))
    problems.push(`${where}: minor must be a string like "1.31" (got ${show(r.minor)})`);
  for (const k of ['released', 'endOfMaintenance', 'endOfLife'] as const)
    if (!isDate(r[k])) problems.push(`${where}: ${k} must be a date YYYY-MM-DD (got ${show(r[k])})`);
  if (problems.length > before) return undefined;
  const good = r as unknown as VersionSupportRow;
  if (!(good.released < good.endOfMaintenance))
    problems.push(`${where}: endOfMaintenance ${good.endOfMaintenance} must be after released ${good.released}`);
  if (!(good.endOfMaintenance <= good.endOfLife))
    problems.push(`${where}: endOfLife ${good.endOfLife} must not be before endOfMaintenance ${good.endOfMaintenance}`);
  return problems.length > before ? undefined : { ...good };
}

/**
 * Minor by minor in version order, each date moves forward: a newer minor is released after the one
 * before it, and its end of maintenance and end of life are not earlier.
 */
export function monotonicProblems(rows: readonly VersionSupportRow[]): string[] {
  const problems: string[] = [];
  const sorted = [...rows].sort((a, b) => compareMinors(a.minor, b.minor));
  for (let i = 1; i < sorted.length; i++) {
    const [a, b] = [sorted[i - 1], sorted[i]];
    if (!(a.released < b.released))
      problems.push(`${b.minor} is released ${b.released}, not after ${a.minor} (${a.released})`);
    if (b.endOfMaintenance < a.endOfMaintenance)
      problems.push(`${b.minor} ends maintenance ${b.endOfMaintenance}, before ${a.minor} (${a.endOfMaintenance})`);
    if (b.endOfLife < a.endOfLife)
      problems.push(`${b.minor} reaches end of life ${b.endOfLife}, before ${a.minor} (${a.endOfLife})`);
  }
  return problems;
}

/**
 * Validates a support document (schema, real dates, order of dates in each minor, monotonic across
 * minors, no minor twice). Throws SupportDataError listing every problem; returns it sorted by minor.
 */
export function parseSupportDocument(doc: unknown): SupportDocument {
  const problems: string[] = [];
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new SupportDataError(['the document must be a JSON object with a "minors" array']);
  const d = doc as Record<string, unknown>;
  for (const k of Object.keys(d))
    if (!TOP_KEYS.has(k)) problems.push(`unknown field "${k.slice(0, 40)}" (known: ${[...TOP_KEYS].join(', ')})`);
  if (d.source !== undefined && (typeof d.source !== 'string' || d.source.length > 500))
    problems.push('source must be a string of at most 500 characters');
  if (!Array.isArray(d.minors) || d.minors.length === 0 || d.minors.length > MAX_MINORS) {
    problems.push(`minors must be an array of 1 to ${MAX_MINORS} entries`);
    throw new SupportDataError(problems);
  }
  const rows: VersionSupportRow[] = [];
  const seen = new Set<string>();
  d.minors.forEach((row: unknown, i: number) => {
    const minor = (row as { minor?: unknown } | null)?.minor;
    if (typeof minor === 'string' && MINOR_RE.test(minor)) {
      if (seen.has(minor)) problems.push(`minors[${i}]: minor ${minor} is listed twice`);
      seen.add(minor);
    }
    const good = checkRow(row, `minors[${i}]`, problems);
    if (good) rows.push(good);
  });
  if (!problems.length) problems.push(...monotonicProblems(rows));
  if (problems.length) throw new SupportDataError(problems);
  return {
    source: typeof d.source === 'string' ? d.source : '',
    minors: rows.sort((a, b) => compareMinors(a.minor, b.minor)),
  };
}

/** The data shipped with this atoll (checked when the module loads: a bad file fails every test). */
export const BUNDLED_SUPPORT: SupportDocument = Object.freeze(parseSupportDocument(bundled));

/** The bundled minors overlaid with an imported override (the override wins minor by minor). */
export function mergeSupport(base: readonly VersionSupportRow[], override: readonly VersionSupportRow[]) {
  const byMinor = new Map(base.map((r) => [r.minor, r]));
  for (const r of override) byMinor.set(r.minor, r);
  return [...byMinor.values()].sort((a, b) => compareMinors(a.minor, b.minor));
}
