// The PostgreSQL side of the day-2 tables (migration 3; SQLite's 7): the imported Kubernetes version
// support data, the last support status per scope, and the active alerts. Each method is one
// transaction; the read-compare-write ones lock their table first (SHARE ROW EXCLUSIVE conflicts with
// itself), so of two hubs seeing the same change only one gets it back, as on SQLite.
import { sql, type PgDb } from './pg-db.js';
import { appendEvent } from './pg-events.js';
import type { EventRecord, NewEvent } from './types.js';
import type {
  AlertInput,
  AlertRecord,
  AlertSeverity,
  AlertSync,
  StoredVersionSupport,
  SupportStateChange,
  SupportStateEntry,
} from './day2-types.js';

const T = 'text COLLATE "C"';

export const DAY2_MIGRATION = [
  `CREATE TABLE version_support (
    minor              ${T} PRIMARY KEY,
    released           ${T} NOT NULL,
    end_of_maintenance ${T} NOT NULL,
    end_of_life        ${T} NOT NULL,
    source             ${T} NOT NULL DEFAULT '',
    imported_at        ${T} NOT NULL,
    imported_by        ${T} NOT NULL
  )`,
  `CREATE TABLE support_states (
    scope      ${T} PRIMARY KEY,
    status     ${T} NOT NULL,
    updated_at ${T} NOT NULL
  )`,
  `CREATE TABLE alerts (
    id        ${T} PRIMARY KEY,
    severity  ${T} NOT NULL,
    message   ${T} NOT NULL,
    link      ${T} NOT NULL,
    since     ${T} NOT NULL,
    last_seen ${T} NOT NULL
  )`,
];

const Q = {
  listSupport: sql('d2_support_list', 'SELECT * FROM version_support'),
  clearSupport: sql('d2_support_clear', 'DELETE FROM version_support'),
  insertSupport: sql(
    'd2_support_insert',
    `INSERT INTO version_support (minor, released, end_of_maintenance, end_of_life, source, imported_at, imported_by)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])`,
  ),
  lockStates: sql('d2_states_lock', 'LOCK TABLE support_states IN SHARE ROW EXCLUSIVE MODE'),
  listStates: sql('d2_states_list', 'SELECT scope, status FROM support_states'),
  setState: sql(
    'd2_state_set',
    `INSERT INTO support_states (scope, status, updated_at) VALUES ($1, $2, $3)
     ON CONFLICT (scope) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at`,
  ),
  deleteStates: sql('d2_states_delete', 'DELETE FROM support_states WHERE scope = ANY($1::text[])'),
  lockAlerts: sql('d2_alerts_lock', 'LOCK TABLE alerts IN SHARE ROW EXCLUSIVE MODE'),
  listAlerts: sql('d2_alerts_list', 'SELECT id, severity, message, link, since FROM alerts'),
  insertAlert: sql(
    'd2_alert_insert',
    'INSERT INTO alerts (id, severity, message, link, since, last_seen) VALUES ($1, $2, $3, $4, $5, $6)',
  ),
  updateAlert: sql(
    'd2_alert_update',
    'UPDATE alerts SET severity = $1, message = $2, link = $3, last_seen = $4 WHERE id = $5',
  ),
  deleteAlerts: sql('d2_alerts_delete', 'DELETE FROM alerts WHERE id = ANY($1::text[])'),
};

interface SupportRow {
  minor: string;
  released: string;
  end_of_maintenance: string;
  end_of_life: string;
  source: string;
  imported_at: string;
  imported_by: string;
}

interface AlertRow {
  id: string;
  severity: string;
  message: string;
  link: string;
  since: string;
}

const alertFromRow = (r: AlertRow): AlertRecord => ({
  id: r.id,
  severity: r.severity as AlertSeverity,
  message: r.message,
  link: r.link,
  since: r.since,
});

/** Numeric-aware order of minors ("1.9" < "1.10"). */
function byMinor(a: { minor: string }, b: { minor: string }): number {
  const [am, an] = a.minor.split('.').map(Number);
  const [bm, bn] = b.minor.split('.').map(Number);
  return am - bm || an - bn;
}

export function getVersionSupport(db: PgDb): Promise<StoredVersionSupport | undefined> {
  return db.run('reading the version support data', async (ex) => {
    const rows = await ex.rows<SupportRow>(Q.listSupport);
    if (!rows.length) return undefined;
    return {
      source: rows[0].source,
      importedAt: rows[0].imported_at,
      importedBy: rows[0].imported_by,
      minors: rows
        .map((r) => ({
          minor: r.minor,
          released: r.released,
          endOfMaintenance: r.end_of_maintenance,
          endOfLife: r.end_of_life,
        }))
        .sort(byMinor),
    };
  });
}

export function setVersionSupport(
  db: PgDb,
  data: StoredVersionSupport | null,
  event: NewEvent,
  at: string,
): Promise<EventRecord> {
  return db.tx('storing the version support data', async (ex) => {
    await ex.count(Q.clearSupport);
    const m = data?.minors ?? [];
    if (m.length) {
      const col = (f: (x: (typeof m)[number]) => string): string[] => m.map(f);
      await ex.count(Q.insertSupport, [
        col((x) => x.minor),
        col((x) => x.released),
        col((x) => x.endOfMaintenance),
        col((x) => x.endOfLife),
        col(() => data?.source ?? ''),
        col(() => data?.importedAt ?? ''),
        col(() => data?.importedBy ?? ''),
      ]);
    }
    // Last: the event id counter is held from here to the commit (pg-events.ts).
    return appendEvent(ex, event, at);
  });
}

export function recordSupportStates(
  db: PgDb,
  entries: readonly SupportStateEntry[],
  at: string,
  prune?: { prefix: string; keep: readonly string[] },
): Promise<SupportStateChange[]> {
  return db.tx('recording support states', async (ex) => {
    await ex.count(Q.lockStates);
    const stored = new Map(
      (await ex.rows<{ scope: string; status: string }>(Q.listStates)).map((r) => [r.scope, r.status]),
    );
    const changes: SupportStateChange[] = [];
    const seen = new Set<string>();
    for (const e of entries) {
      seen.add(e.scope);
      const previous = stored.get(e.scope) ?? null;
      if (previous === e.status) continue;
      await ex.count(Q.setState, [e.scope, e.status, at]);
      changes.push({ scope: e.scope, status: e.status, previous });
    }
    if (prune) {
      const keep = new Set(prune.keep);
      const gone = [...stored.keys()].filter((s) => s.startsWith(prune.prefix) && !seen.has(s) && !keep.has(s));
      if (gone.length) await ex.count(Q.deleteStates, [gone]);
    }
    return changes;
  });
}

export function syncAlerts(db: PgDb, active: readonly AlertInput[], at: string): Promise<AlertSync> {
  return db.tx('syncing alerts', async (ex) => {
    await ex.count(Q.lockAlerts);
    const stored = new Map((await ex.rows<AlertRow>(Q.listAlerts)).map((r) => [r.id, alertFromRow(r)]));
    const out: AlertSync = { active: [], raised: [], resolved: [] };
    const seen = new Set<string>();
    for (const a of active) {
      if (seen.has(a.id)) continue;
      seen.add(a.id);
      const old = stored.get(a.id);
      if (!old) {
        await ex.count(Q.insertAlert, [a.id, a.severity, a.message, a.link, at, at]);
        const rec = { ...a, since: at };
        out.active.push(rec);
        out.raised.push(rec);
        continue;
      }
      if (old.severity !== a.severity || old.message !== a.message || old.link !== a.link)
        await ex.count(Q.updateAlert, [a.severity, a.message, a.link, at, a.id]);
      out.active.push({ ...a, since: old.since });
    }
    const gone = [...stored.keys()].filter((id) => !seen.has(id));
    if (gone.length) await ex.count(Q.deleteAlerts, [gone]);
    for (const id of gone) out.resolved.push(stored.get(id)!);
    return out;
  });
}
