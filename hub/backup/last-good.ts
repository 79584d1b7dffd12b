// When the newest good backup was made. On SQLite: the newest good archive in the backup folder. On
// PostgreSQL only one hub (the `backups` leader) writes archives, maybe into its own data dir, so every
// hub also reads the newest `backup.created` event from the shared events table (written after each
// good backup, scheduled or `atoll-hub backup create`), and takes the newer of the two: all hubs
// report the same age. The event's time is the archive's own (data.createdAt), never later than the
// event; an event without one counts from when it was recorded.
import type { EventRecord, Store } from '../store/types.js';
import { listBackups } from './list.js';

export interface LastGoodSource {
  /** The backup folder (--backup-dir). */
  dir: string;
  /** PostgreSQL: the shared store, whose backup.created events count for every hub. */
  shared?: Pick<Store, 'listEvents'>;
  /** Wall time (ms). */
  now: () => number;
}

/** When the backup an event records was made (ms), or NaN for an event with no usable time. */
export function backupEventMs(e: Pick<EventRecord, 'at' | 'data'>): number {
  const at = Date.parse(e.at);
  const made = typeof e.data.createdAt === 'string' ? Date.parse(e.data.createdAt) : NaN;
  return Number.isFinite(made) && made <= at ? made : at;
}

export function newestInFolder(dir: string, nowMs: number): number | null {
  const good = listBackups(dir, nowMs).find((b) => b.problem === null);
  return good ? Date.parse(good.createdAt) : null;
}

/** The newest good backup (ms) with a cache of the events' answer: a failed read keeps the last one. */
export function lastGoodReader(s: LastGoodSource): () => Promise<number | null> {
  let eventMs: number | null = null;
  return async () => {
    const folder = newestInFolder(s.dir, s.now());
    if (!s.shared) return folder;
    try {
      const [e] = await s.shared.listEvents({ type: 'backup.created', order: 'desc', limit: 1 });
      const ms = e ? backupEventMs(e) : NaN;
      if (Number.isFinite(ms)) eventMs = Math.max(eventMs ?? ms, ms);
    } catch {
      // the database did not answer: the newest event seen so far
    }
    return folder === null ? eventMs : eventMs === null ? folder : Math.max(folder, eventMs);
  };
}
