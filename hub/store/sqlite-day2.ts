// The SQLite side of the day-2 tables (migration 7): the imported Kubernetes version support data,
// the last support status per scope, and the active alerts. Each method is one IMMEDIATE transaction.
import type Database from 'better-sqlite3';
import { SqliteStoreBase } from './sqlite-store-base.js';
import { SqliteEvents } from './sqlite-events.js';
import type { EventRecord, NewEvent } from './types.js';
import { alertFromRow, planAlerts, planSupportStates, supportFromRows, supportRowsOf } from './day2-rows.js';
import type { AlertRow, SupportRow } from './day2-rows.js';
import type {
  AlertInput,
  AlertSync,
  Day2Store,
  StoredVersionSupport,
  SupportStateChange,
  SupportStateEntry,
} from './day2-types.js';

/** Migration 7. One row per imported minor; the import's source, time and actor on each row. */
export const V7_DAY2_TABLES = `
CREATE TABLE version_support (
  minor              TEXT PRIMARY KEY,
  released           TEXT NOT NULL,
  end_of_maintenance TEXT NOT NULL,
  end_of_life        TEXT NOT NULL,
  source             TEXT NOT NULL DEFAULT '',
  imported_at        TEXT NOT NULL,
  imported_by        TEXT NOT NULL
);

CREATE TABLE support_states (
  scope      TEXT PRIMARY KEY,
  status     TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE TABLE alerts (
  id        TEXT PRIMARY KEY,
  severity  TEXT NOT NULL,
  message   TEXT NOT NULL,
  link      TEXT NOT NULL,
  since     TEXT NOT NULL,
  last_seen TEXT NOT NULL
);
`;

function prepare(db: Database.Database) {
  return {
    listSupport: db.prepare<[], SupportRow>('SELECT * FROM version_support'),
    clearSupport: db.prepare('DELETE FROM version_support'),
    insertSupport: db.prepare<SupportRow>(`INSERT INTO version_support
      (minor, released, end_of_maintenance, end_of_life, source, imported_at, imported_by)
      VALUES (@minor, @released, @end_of_maintenance, @end_of_life, @source, @imported_at, @imported_by)`),
    listStates: db.prepare<[], { scope: string; status: string }>('SELECT scope, status FROM support_states'),
    setState: db.prepare<[string, string, string]>(`INSERT INTO support_states (scope, status, updated_at)
      VALUES (?, ?, ?) ON CONFLICT(scope) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at`),
    deleteState: db.prepare<[string]>('DELETE FROM support_states WHERE scope = ?'),
    listAlerts: db.prepare<[], AlertRow>('SELECT id, severity, message, link, since FROM alerts'),
    insertAlert: db.prepare<[string, string, string, string, string, string]>(
      'INSERT INTO alerts (id, severity, message, link, since, last_seen) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    updateAlert: db.prepare<[string, string, string, string, string]>(
      'UPDATE alerts SET severity = ?, message = ?, link = ?, last_seen = ? WHERE id = ?',
    ),
    deleteAlert: db.prepare<[string]>('DELETE FROM alerts WHERE id = ?'),
  };
}

/** Adds the day-2 methods to the SQLite store (sqlite-store.ts extends this). */
export abstract class SqliteDay2Store extends SqliteStoreBase implements Day2Store<NewEvent, EventRecord> {
  private readonly d2: ReturnType<typeof prepare>;
  private readonly d2Events: SqliteEvents;

  constructor(db: Database.Database, path: string) {
    super(db, path);
    this.d2 = prepare(db);
    this.d2Events = new SqliteEvents(db);
  }

  getVersionSupport(): Promise<StoredVersionSupport | undefined> {
    return this.run('reading the version support data', () => supportFromRows(this.d2.listSupport.all()));
  }

  setVersionSupport(data: StoredVersionSupport | null, event: NewEvent): Promise<EventRecord> {
    return this.run('storing the version support data', () =>
      this.tx(() => {
        this.d2.clearSupport.run();
        for (const row of supportRowsOf(data)) this.d2.insertSupport.run(row);
        return this.d2Events.append(event);
      }),
    );
  }

  recordSupportStates(
    entries: readonly SupportStateEntry[],
    at: string,
    prune?: { prefix: string; keep: readonly string[] },
  ): Promise<SupportStateChange[]> {
    return this.run('recording support states', () =>
      this.tx(() => {
        const stored = new Map(this.d2.listStates.all().map((r) => [r.scope, r.status]));
        const { changes, deletes } = planSupportStates(stored, entries, prune);
        for (const c of changes) this.d2.setState.run(c.scope, c.status, at);
        for (const scope of deletes) this.d2.deleteState.run(scope);
        return changes;
      }),
    );
  }

  syncAlerts(active: readonly AlertInput[], at: string): Promise<AlertSync> {
    return this.run('syncing alerts', () =>
      this.tx(() => {
        const stored = new Map(this.d2.listAlerts.all().map((r) => [r.id, alertFromRow(r)]));
        const plan = planAlerts(stored, active, at);
        for (const a of plan.inserts) this.d2.insertAlert.run(a.id, a.severity, a.message, a.link, at, at);
        for (const a of plan.updates) this.d2.updateAlert.run(a.severity, a.message, a.link, at, a.id);
        for (const id of plan.deletes) this.d2.deleteAlert.run(id);
        return plan.sync;
      }),
    );
  }
}
