// The SQLite side of SecretStore (secret-types.ts): the `secrets` table of migration 6 and the
// compare-and-set on a node's k3s token. Statements only; the caller maps errors (SqliteStoreBase.run).
import type Database from 'better-sqlite3';

export class SqliteSecrets {
  private readonly st;

  constructor(db: Database.Database) {
    this.st = {
      get: db.prepare<[string], { sealed: Buffer }>('SELECT sealed FROM secrets WHERE name = ?'),
      // One statement: inserted, or the row already there left as it is; RETURNING gives neither, so
      // the read follows in the same transaction.
      insert: db.prepare<[string, Buffer, string]>(
        'INSERT INTO secrets (name, sealed, created_at) VALUES (?, ?, ?) ON CONFLICT(name) DO NOTHING',
      ),
      upsert: db.prepare<[string, Buffer, string]>(
        'INSERT INTO secrets (name, sealed, created_at) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET sealed = excluded.sealed, created_at = excluded.created_at',
      ),
      replaceK3s: db.prepare<[string, string, string]>(
        'UPDATE node_k3s SET token_secret = ? WHERE node_id = ? AND token_secret = ?',
      ),
    };
    this.putIfAbsent = db.transaction((name: string, sealed: Buffer): Buffer => {
      this.st.insert.run(name, sealed, new Date().toISOString());
      const row = this.st.get.get(name);
      return row ? Buffer.from(row.sealed) : sealed;
    });
  }

  private readonly putIfAbsent: Database.Transaction<(name: string, sealed: Buffer) => Buffer>;

  get(name: string): Buffer | undefined {
    const row = this.st.get.get(name);
    return row ? Buffer.from(row.sealed) : undefined;
  }

  putSecretIfAbsent(name: string, sealed: Buffer): Buffer {
    return this.putIfAbsent.immediate(name, sealed);
  }

  replaceSecret(name: string, sealed: Buffer): void {
    this.st.upsert.run(name, sealed, new Date().toISOString());
  }

  replaceK3sTokenSecret(nodeId: string, expected: string, next: string): boolean {
    return this.st.replaceK3s.run(next, nodeId, expected).changes === 1;
  }
}
