// What an alert source is: a named function from the hub's state to its active problems. The alert
// service (alert-service.ts) asks every source at each evaluation; a source that fails keeps its
// previous alerts (a failed read must not look like a resolved problem).
//
// Extension point: a new kind of problem is a new source in hub/alerts/ added to the list that
// app.ts hands the service (e.g. "last backup too old": a `backup` source reading the newest good
// backup's time, id `backup-too-old`, link `#/cluster`). Ids are `<kind>` or `<kind>:<subject>`;
// the kind (before the first ':') labels the atoll_alerts_active metric, so keep kinds few and fixed.
import type { AlertInput } from '../store/day2-types.js';

export type { AlertInput, AlertRecord, AlertSeverity } from '../store/day2-types.js';

export interface AlertSource {
  /** For logs, and to keep this source's alerts when it fails. */
  name: string;
  collect(nowMs: number): Promise<AlertInput[]> | AlertInput[];
}

/** Alerts listed per kind at most; the rest fold into one `<kind>:more` alert with the count. */
export const MAX_PER_KIND = 100;

/** The kind of an alert id: `node-unreachable` of `node-unreachable:n-1`. */
export function alertKind(id: string): string {
  const i = id.indexOf(':');
  return i < 0 ? id : id.slice(0, i);
}

/** Caps a list of one kind, folding the rest into one alert that says how many more. */
export function capped(kind: string, list: AlertInput[], more: (n: number) => Omit<AlertInput, 'id'>): AlertInput[] {
  if (list.length <= MAX_PER_KIND) return list;
  return [...list.slice(0, MAX_PER_KIND), { id: `${kind}:more`, ...more(list.length - MAX_PER_KIND) }];
}

const DAY_MS = 86_400_000;

/** "in 3d 4h" / "2h ago" for messages. */
export function relative(ms: number): string {
  const abs = Math.abs(ms);
  const text =
    abs >= 2 * DAY_MS
      ? `${Math.floor(abs / DAY_MS)}d`
      : abs >= 7_200_000
        ? `${Math.floor(abs / 3_600_000)}h`
        : `${Math.max(1, Math.floor(abs / 60_000))}m`;
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}
