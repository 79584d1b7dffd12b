// A stopped or running hub's secrets as tests need them (to forge certificates with its CA, or serve
// with its key): read from its store (hub.db, read-only) and opened with its cluster secret, as the
// hub does. Tests run as the hub's user. On ATOLL_TEST_DATASTORE=postgres, read from the hub's database.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { CaMaterial } from '../../certs/ca.js';
import { unseal } from '../../certs/sealed.js';
import { STORE_SECRET_PURPOSE } from '../../hub/pki/store-secrets.js';
import { postgresOf } from './test-datastore.js';

function sealedSecret(dataDir: string, name: string): Buffer {
  const pg = postgresOf(dataDir);
  if (pg) {
    if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`bad secret name ${name}`);
    const hex = pg.server.psql(`SELECT encode(sealed, 'hex') FROM secrets WHERE name = '${name}'`, pg.database).trim();
    if (!hex) throw new Error(`no secret ${name} in PostgreSQL database ${pg.database}`);
    return Buffer.from(hex, 'hex');
  }
  const db = new Database(join(dataDir, 'hub.db'), { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare<[string], { sealed: Buffer }>('SELECT sealed FROM secrets WHERE name = ?').get(name);
    if (!row) throw new Error(`no secret ${name} in ${dataDir}/hub.db`);
    return row.sealed;
  } finally {
    db.close();
  }
}

export function hubSecret(dataDir: string, name: string, clusterSecretFile = join(dataDir, 'cluster-secret')): Buffer {
  const sealed = sealedSecret(dataDir, name);
  const secret = Buffer.from(readFileSync(clusterSecretFile, 'utf8').trim(), 'hex');
  return unseal({ secret, source: clusterSecretFile }, STORE_SECRET_PURPOSE, name, sealed);
}

/** The hub's CA (certificate and key). */
export function hubCaMaterial(dataDir: string): CaMaterial {
  return JSON.parse(hubSecret(dataDir, 'ca').toString('utf8')) as CaMaterial;
}

/** The hub's serving key (PEM): shared by every hub of a cluster, pinned by install lines. */
export function hubServingKey(dataDir: string): string {
  return hubSecret(dataDir, 'serving-key').toString('utf8');
}
