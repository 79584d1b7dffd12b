// When the newest good backup was made. On SQLite: the newest good archive in the backup folder. On
// PostgreSQL only one hub (the `backups` leader) writes archives, maybe into its own data dir, so every
// hub also reads the newest `backup.created` events from the shared events table (written after each
// backup, scheduled or `atoll-hub backup create`), and takes the newer of the two: all hubs report
// the same age. The event's time is the archive's own (data.createdAt), never later than the event;
// an event without one counts from when it was recorded.
//
// Good means complete: an archive made while k3s was down (no Kubernetes objects; manifest
// `incomplete`, event data.incomplete) does not count. Nor does a time more than 5 minutes ahead of
// this hub's clock (a writer whose clock was ahead would otherwise silence the alert for good). The
// folder is read off the event loop, one read at a time, and a read that takes longer than 10 s (a
// stalled shared mount) answers with the last one.
import type { EventRecord, Store } from '../store/types.js';
import { listBackups } from './list.js';
import { waitAtMost } from '../../certs/wait-at-most.js';

export interface LastGoodSource {
  /** The backup folder (--backup-dir). */
  dir: string;
  /** PostgreSQL: the shared store, whose backup.created events count for every hub. */
  shared?: Pick<Store, 'listEvents'>;
  /** Wall time (ms). */
  now: () => number;
  /** How long a folder read may take before the last answer is used (ms). */
  folderTimeoutMs?: number;
}

/** Writers' clocks may be ahead of this hub's by this much. */
const FUTURE_SLACK_MS = 5 * 60_000;
/** backup.created events read for the newest complete one. */
const EVENTS_READ = 20;
const FOLDER_TIMEOUT_MS = 10_000;

/** When the backup an event records was made (ms), or NaN for an event with no usable time. */
export function backupEventMs(e: Pick<EventRecord, 'at' | 'data'>): number {
  const at = Date.parse(e.at);
  const made = typeof e.data.createdAt === 'string' ? Date.parse(e.data.createdAt) : NaN;
  return Number.isFinite(made) && made <= at ? made : at;
}

export async function newestInFolder(dir: string, nowMs: number): Promise<number | null> {
  const good = (await listBackups(dir, nowMs)).find((b) => b.problem === null && b.incomplete === null);
  return good ? Date.parse(good.createdAt) : null;
}

/** The newest complete backup an event records (ms), among events newest first; null when none. */
export function newestCompleteEventMs(events: EventRecord[], nowMs: number): number | null {
  for (const e of events) {
    if (e.data.incomplete) continue;
    const ms = backupEventMs(e);
    if (Number.isFinite(ms) && ms <= nowMs + FUTURE_SLACK_MS) return ms;
  }
  return null;
}

/** The newest good backup (ms). A failed or slow read keeps the last answer of that source. */
export function lastGoodReader(s: LastGoodSource): () => Promise<number | null> {
  const timeoutMs = s.folderTimeoutMs ?? FOLDER_TIMEOUT_MS;
  let eventMs: number | null = null;
  let folderMs: number | null = null;
  let folderRead: Promise<void> | undefined;
  const readFolder = (): Promise<boolean> => {
    folderRead ??= newestInFolder(s.dir, s.now())
      .then((ms) => void (folderMs = ms))
      .finally(() => (folderRead = undefined));
    return waitAtMost(folderRead, timeoutMs);
  };
  return async () => {
    await readFolder();
    if (!s.shared) return folderMs;
    try {
      const events = await s.shared.listEvents({ type: 'backup.created', order: 'desc', limit: EVENTS_READ });
      const ms = newestCompleteEventMs(events, s.now());
      if (ms !== null) eventMs = ms;
    } catch {
      // the database did not answer: the newest event seen so far
    }
    return folderMs === null ? eventMs : eventMs === null ? folderMs : Math.max(folderMs, eventMs);
  };
}
