// A stopped or running hub's secrets as tests need them (to forge certificates with its CA, or serve
// with its key): read from its store (hub.db, read-only) and opened with its cluster secret, as the
// hub does. Tests run as the hub's user.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { CaMaterial } from '../../certs/ca.js';
import { unseal } from '../../certs/sealed.js';
import { STORE_SECRET_PURPOSE } from '../../hub/pki/store-secrets.js';

export function hubSecret(dataDir: string, name: string, clusterSecretFile = join(dataDir, 'cluster-secret')): Buffer {
  const db = new Database(join(dataDir, 'hub.db'), { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare<[string], { sealed: Buffer }>('SELECT sealed FROM secrets WHERE name = ?').get(name);
    if (!row) throw new Error(`no secret ${name} in ${dataDir}/hub.db`);
    const secret = Buffer.from(readFileSync(clusterSecretFile, 'utf8').trim(), 'hex');
    return unseal({ secret, source: clusterSecretFile }, STORE_SECRET_PURPOSE, name, row.sealed);
  } finally {
    db.close();
  }
}

/** The hub's CA (certificate and key). */
export function hubCaMaterial(dataDir: string): CaMaterial {
  return JSON.parse(hubSecret(dataDir, 'ca').toString('utf8')) as CaMaterial;
}

/** The hub's serving key (PEM): shared by every hub of a cluster, pinned by install lines. */
export function hubServingKey(dataDir: string): string {
  return hubSecret(dataDir, 'serving-key').toString('utf8');
}
