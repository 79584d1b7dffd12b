// SQLite file operations of backups and restores (hub/backup/): an online copy that a writer beside
// it cannot tear, an audit event appended to a hub.db beside a running hub, and a restored file
// cleared of the old hubs' membership beats and leases.
import Database from 'better-sqlite3';
import type { NewEvent } from './log-records.js';

/** SQLite's online backup of `path` into `to`, in one step (one read snapshot). */
export async function sqliteOnlineCopy(path: string, to: string): Promise<void> {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    await db.backup(to, { progress: ({ totalPages }) => Math.max(totalPages, 100) });
  } finally {
    db.close();
  }
}

function insertEvent(db: Database.Database, e: NewEvent): void {
  db.prepare('INSERT INTO events (at, type, node_id, pool, actor, message, data) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    new Date().toISOString(),
    e.type,
    e.nodeId ?? null,
    e.pool ?? null,
    e.actor,
    e.message,
    JSON.stringify(e.data ?? {}),
  );
}

/** Appends an event (the events table's AUTOINCREMENT id keeps the order with a running hub's own). */
export function appendEventToFile(path: string, e: NewEvent): void {
  const db = new Database(path, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    insertEvent(db, e);
  } finally {
    db.close();
  }
}

/** Drops runtime rows no restored hub should inherit (tables `hubs` and `leases`, when present). */
export function dropRuntimeRows(path: string): void {
  const db = new Database(path, { fileMustExist: true });
  try {
    const tables = new Set(db.prepare<[], string>("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all());
    for (const t of ['hubs', 'leases']) if (tables.has(t)) db.prepare(`DELETE FROM ${t}`).run();
    // The admin token as it was at the backup (rotated since, maybe because it leaked) is not brought
    // back: the restored hub makes a new one, and a later copy to PostgreSQL carries none.
    if (tables.has('secrets')) db.prepare("DELETE FROM secrets WHERE name = 'admin-token'").run();
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}

/**
 * Forgets every node's k3s bootstrap token (a reset k3s datastore no longer knows them: each node gets a
 * new one) and records the event, in one transaction: both or neither. Returns the tokens forgotten.
 */
export function resetK3sTokens(path: string, event: (tokens: number) => NewEvent): number {
  const db = new Database(path, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    return db.transaction(() => {
      const n = db
        .prepare('UPDATE node_k3s SET token_id = NULL, token_secret = NULL WHERE token_id IS NOT NULL')
        .run().changes;
      insertEvent(db, event(n));
      return n;
    })();
  } finally {
    db.close();
  }
}

export interface RestoredCredentials {
  /** Join tokens outstanding at backup time, now revoked (their use counts rolled back with the restore). */
  joinTokensRevoked: string[];
  /** API tokens that came back unrevoked: one revoked after the backup is among them. */
  apiTokens: { id: string; role: string; description: string; createdAt: string }[];
}

/**
 * In a restored hub.db: revokes every join token still usable (a single-use one used after the backup
 * would work again) and lists the API tokens that came back, for the operator to look over.
 */
export function revokeRestoredCredentials(path: string, nowIso: string): RestoredCredentials {
  const db = new Database(path, { fileMustExist: true });
  try {
    return db.transaction(() => {
      const joinTokensRevoked = db
        .prepare<
          [string, string],
          string
        >('UPDATE tokens SET revoked_at = ? WHERE revoked_at IS NULL AND expires_at > ? RETURNING id')
        .pluck()
        .all(nowIso, nowIso)
        .sort();
      const apiTokens = db
        .prepare<
          [],
          { id: string; role: string; description: string; createdAt: string }
        >('SELECT id, role, description, created_at AS createdAt FROM api_tokens WHERE revoked_at IS NULL ORDER BY created_at')
        .all();
      return { joinTokensRevoked, apiTokens };
    })();
  } finally {
    db.close();
  }
}
