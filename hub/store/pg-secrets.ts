// The PostgreSQL side of SecretStore (secret-types.ts): the `secrets` table of migration 2 and the
// compare-and-set on a node's k3s token. First writer wins: INSERT ... ON CONFLICT DO NOTHING, then
// the stored value is read back in the same transaction.
import { sql, type PgDb } from './pg-db.js';

const Q = {
  get: sql('secret_get', 'SELECT sealed FROM secrets WHERE name = $1'),
  insert: sql(
    'secret_insert',
    'INSERT INTO secrets (name, sealed, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING',
  ),
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

export function replaceK3sTokenSecret(db: PgDb, nodeId: string, expected: string, next: string): Promise<boolean> {
  return db.run('sealing a k3s token', async (ex) => (await ex.count(Q.replaceK3s, [next, nodeId, expected])) === 1);
}
