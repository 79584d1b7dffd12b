// The PostgreSQL side of the day-2 tables (migration 3; SQLite's 7): the imported Kubernetes version
// support data, the last support status per scope, and the active alerts. Each method is one
// transaction; the read-compare-write ones lock their table first (SHARE ROW EXCLUSIVE conflicts with
// itself), so of two hubs seeing the same change only one gets it back, as on SQLite.
import { sql, type PgDb } from './pg-db.js';
import { appendEvent } from './pg-events.js';
import type { EventRecord, NewEvent } from './types.js';
import { alertFromRow, planAlerts, planSupportStates, supportFromRows, supportRowsOf } from './day2-rows.js';
import type { AlertRow, SupportRow } from './day2-rows.js';
import type {
  AlertInput,
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

export function getVersionSupport(db: PgDb): Promise<StoredVersionSupport | undefined> {
  return db.run('reading the version support data', async (ex) =>
    supportFromRows(await ex.rows<SupportRow>(Q.listSupport)),
  );
}

export function setVersionSupport(
  db: PgDb,
  data: StoredVersionSupport | null,
  event: NewEvent,
  at: string,
): Promise<EventRecord> {
  return db.tx('storing the version support data', async (ex) => {
    await ex.count(Q.clearSupport);
    const rows = supportRowsOf(data);
    if (rows.length) {
      const col = (k: keyof SupportRow): string[] => rows.map((r) => r[k]);
      await ex.count(Q.insertSupport, [
        col('minor'),
        col('released'),
        col('end_of_maintenance'),
        col('end_of_life'),
        col('source'),
        col('imported_at'),
        col('imported_by'),
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
    const rows = await ex.rows<{ scope: string; status: string }>(Q.listStates);
    const { changes, deletes } = planSupportStates(new Map(rows.map((r) => [r.scope, r.status])), entries, prune);
    for (const c of changes) await ex.count(Q.setState, [c.scope, c.status, at]);
    if (deletes.length) await ex.count(Q.deleteStates, [deletes]);
    return changes;
  });
}

export function syncAlerts(db: PgDb, active: readonly AlertInput[], at: string): Promise<AlertSync> {
  return db.tx('syncing alerts', async (ex) => {
    await ex.count(Q.lockAlerts);
    const stored = new Map((await ex.rows<AlertRow>(Q.listAlerts)).map((r) => [r.id, alertFromRow(r)]));
    const plan = planAlerts(stored, active, at);
    for (const a of plan.inserts) await ex.count(Q.insertAlert, [a.id, a.severity, a.message, a.link, at, at]);
    for (const a of plan.updates) await ex.count(Q.updateAlert, [a.severity, a.message, a.link, at, a.id]);
    if (plan.deletes.length) await ex.count(Q.deleteAlerts, [plan.deletes]);
    return plan.sync;
  });
}
