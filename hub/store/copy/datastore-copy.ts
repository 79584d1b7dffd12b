// atoll-hub datastore copy --from URL --to URL: moves a stopped hub's state from one store to another
// (SQLite <-> PostgreSQL), sealed secrets as they are (the cluster-secret file of the data dir opens
// them on either store). The target is migrated, must hold no data, and is filled in one transaction
// that is checked (rows per table) before it commits: a failed copy leaves the target as it was. The
// target gets a store.copied event after the copied ones (the source is not written to).
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DirLockedError, lockDataDir, lockHolder, type DirLock } from '../../../certs/dir-lock.js';
import { StoreError } from '../types.js';
import { COPY_BATCH_ROWS, COPY_TABLES, STORE_INTERNAL_TABLES } from './copy-tables.js';
import type { CopySource, CopyTarget } from './copy-types.js';

export type CopyEnd = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

/** `sqlite:PATH`, a bare path (a hub.db, or a data dir holding one), or postgres://... */
export function parseCopyEnd(text: string, side: 'from' | 'to'): CopyEnd {
  const value = text.trim();
  if (/^postgres(ql)?:\/\//i.test(value)) return { kind: 'postgres', url: value };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value))
    throw new StoreError(
      'DATASTORE_UNAVAILABLE',
      `--${side}: must be sqlite:PATH, a path, or postgres://USER@HOST:5432/DATABASE (got ${value.split('://')[0]}://...)`,
    );
  const path = resolve(value.replace(/^sqlite:/i, ''));
  if (value === '' || path === resolve('')) throw new StoreError('DATASTORE_UNAVAILABLE', `--${side}: names no file`);
  const isDir = existsSync(path) && statSync(path).isDirectory();
  return { kind: 'sqlite', path: isDir ? join(path, 'hub.db') : path };
}

export interface CopyReport {
  tables: Array<{ table: string; rows: number }>;
  lastEventId: number;
  ms: number;
}

export interface CopyHooks {
  openSource(end: CopyEnd): Promise<CopySource>;
  openTarget(end: CopyEnd): Promise<CopyTarget>;
  onTable?(table: string, rows: number): void;
  batchRows?: number;
}

/** Locks the data dirs of the SQLite ends: a running hub there refuses the copy, and none starts during it. */
function lockEnds(ends: CopyEnd[]): DirLock[] {
  const locks: DirLock[] = [];
  try {
    for (const dir of new Set(ends.flatMap((e) => (e.kind === 'sqlite' ? [dirname(e.path)] : [])))) {
      if (!existsSync(dir)) continue;
      const holder = lockHolder(dir);
      if (holder) throw new DirLockedError(dir, holder);
      locks.push(lockDataDir(dir));
    }
    return locks;
  } catch (err) {
    for (const l of locks) l.release();
    throw err;
  }
}

export async function copyDatastore(from: CopyEnd, to: CopyEnd, hooks: CopyHooks): Promise<CopyReport> {
  if (JSON.stringify(from) === JSON.stringify(to))
    throw new StoreError('CONFLICT', '--from and --to are the same datastore');
  const started = Date.now();
  const locks = lockEnds([from, to]);
  let source: CopySource | undefined;
  let target: CopyTarget | undefined;
  try {
    source = await hooks.openSource(from);
    const unknown = (await source.tables()).filter(
      (t) => !COPY_TABLES.includes(t) && !STORE_INTERNAL_TABLES.includes(t),
    );
    if (unknown.length)
      throw new StoreError(
        'SCHEMA_VERSION',
        `${source.where} has tables this atoll does not copy (${unknown.join(', ')}): use the atoll that wrote it`,
      );
    target = await hooks.openTarget(to);
    await target.migrate();
    const plan: Array<{ table: string; columns: string[]; rows: number }> = [];
    for (const table of COPY_TABLES) {
      const columns = await target.columns(table);
      const have = new Set(await source.columns(table));
      if (columns.length !== have.size || columns.some((c) => !have.has(c)))
        throw new StoreError(
          'SCHEMA_VERSION',
          `table ${table} has other columns in ${source.where} than in ${target.where}: both must be at this atoll's schema`,
        );
      plan.push({ table, columns, rows: await source.count(table) });
    }
    await target.begin();
    try {
      const full: string[] = [];
      for (const table of COPY_TABLES) {
        const n = await target.count(table, true);
        if (n > 0) full.push(`${table}: ${n}`);
      }
      if (full.length)
        throw new StoreError(
          'CONFLICT',
          `${target.where} already holds data (${full.join(', ')}): copy into an empty database only; nothing was changed`,
        );
      await target.clearSeeded();
      for (const { table, columns, rows } of plan) {
        for await (const batch of source.batches(table, columns, hooks.batchRows ?? COPY_BATCH_ROWS))
          await target.insert(table, columns, batch);
        const got = await target.count(table, false);
        if (got !== rows)
          throw new StoreError(
            'IO',
            `copied ${got} rows of ${table}, the source has ${rows}: is a hub still writing to ${source.where}? Nothing was changed`,
          );
        hooks.onTable?.(table, rows);
      }
      // The audit trail of the move, in the target: the first event after the copied ones.
      const lastEventId = (await source.lastEventId()) + 1;
      const total = plan.reduce((n, t) => n + t.rows, 0);
      await target.insert(
        'events',
        ['id', 'at', 'type', 'node_id', 'pool', 'actor', 'message', 'data'],
        [
          [
            lastEventId,
            new Date().toISOString(),
            'store.copied',
            null,
            null,
            'hub',
            `atoll-hub datastore copy: ${total} rows copied from ${source.where}`,
            JSON.stringify({ from: source.where, rows: total }),
          ],
        ],
      );
      await target.setLastEventId(lastEventId);
      await target.commit();
      return { tables: plan.map(({ table, rows }) => ({ table, rows })), lastEventId, ms: Date.now() - started };
    } catch (err) {
      await target.rollback();
      throw err;
    }
  } finally {
    await target?.close().catch(() => undefined);
    await source?.close().catch(() => undefined);
    for (const l of locks) l.release();
  }
}
