// The PostgreSQL side of SecretStore (secret-types.ts): the `secrets` table of migration 2 and the
// compare-and-set on a node's k3s token. First writer wins: INSERT ... ON CONFLICT DO NOTHING, then
// the stored value is read back in the same transaction. replaceSecret (a rotation) overwrites and
// NOTIFYs `atoll_changes` with `secrets` in the same transaction.
import { sql, type PgDb } from './pg-db.js';
import { CHANGES_CHANNEL } from './pg-changes.js';

const Q = {
  get: sql('secret_get', 'SELECT sealed FROM secrets WHERE name = $1'),
  insert: sql(
    'secret_insert',
    'INSERT INTO secrets (name, sealed, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING',
  ),
  upsert: sql(
    'secret_upsert',
    'INSERT INTO secrets (name, sealed, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET sealed = EXCLUDED.sealed, created_at = EXCLUDED.created_at',
  ),
  // No trigger on secrets (no schema change): the statement itself tells the other hubs, at commit.
  notify: sql('secret_notify', `SELECT pg_notify('${CHANGES_CHANNEL}', 'secrets')`),
  replaceK3s: sql(
    'secret_replace_k3s',
    'UPDATE node_k3s SET token_secret = $1 WHERE node_id = $2 AND token_secret = $3',
  ),
};

export const SECRETS_MIGRATION = [
  `CREATE TABLE secrets (
    name       text COLLATE "C" PRIMARY KEY,
    sealed     bytea NOT NULL,
    created_at text COLLATE "C" NOT NULL
  )`,
];

export function getSecret(db: PgDb, name: string): Promise<Buffer | undefined> {
  return db.run('reading a secret', async (ex) => (await ex.row<{ sealed: Buffer }>(Q.get, [name]))?.sealed);
}

export function putSecretIfAbsent(db: PgDb, name: string, sealed: Buffer, nowIso: string): Promise<Buffer> {
  return db.tx('storing a secret', async (ex) => {
    await ex.count(Q.insert, [name, sealed, nowIso]);
    return (await ex.row<{ sealed: Buffer }>(Q.get, [name]))?.sealed ?? sealed;
  });
}

/** Stores `sealed` under `name` whatever was there; the other hubs hear of it (topic `secrets`) at commit. */
export function replaceSecret(db: PgDb, name: string, sealed: Buffer, nowIso: string): Promise<void> {
  return db.tx('replacing a secret', async (ex) => {
    await ex.count(Q.upsert, [name, sealed, nowIso]);
    await ex.rows(Q.notify);
  });
}

export function replaceK3sTokenSecret(db: PgDb, nodeId: string, expected: string, next: string): Promise<boolean> {
  return db.run('sealing a k3s token', async (ex) => (await ex.count(Q.replaceK3s, [next, nodeId, expected])) === 1);
}
