// `atoll-hub datastore copy`: the ends wired to the copy. The PostgreSQL driver is loaded only when an
// end is PostgreSQL.
import { copyDatastore, parseCopyEnd, type CopyEnd, type CopyReport } from './datastore-copy.js';
import type { CopySource, CopyTarget } from './copy-types.js';

export { parseCopyEnd, type CopyEnd, type CopyReport } from './datastore-copy.js';
export { COPY_TABLES, STORE_INTERNAL_TABLES } from './copy-tables.js';

async function openSource(end: CopyEnd, online: boolean): Promise<CopySource> {
  if (end.kind === 'sqlite') return (await import('./copy-sqlite.js')).openSqliteSource(end.path);
  return (await import('./copy-pg.js')).openPgSource(end.url, { online });
}

async function openTarget(end: CopyEnd): Promise<CopyTarget> {
  if (end.kind === 'sqlite') return (await import('./copy-sqlite.js')).sqliteTarget(end.path);
  return (await import('./copy-pg.js')).openPgTarget(end.url);
}

export function copyStore(
  from: string,
  to: string,
  opts: {
    onTable?: (table: string, rows: number) => void;
    batchRows?: number;
    /** A PostgreSQL source may have hubs running on it (a backup): read it in one snapshot beside them. */
    online?: boolean;
  } = {},
): Promise<CopyReport> {
  const { online = false, ...rest } = opts;
  return copyDatastore(parseCopyEnd(from, 'from'), parseCopyEnd(to, 'to'), {
    openSource: (end) => openSource(end, online),
    openTarget,
    ...rest,
  });
}
