// This hub's id among the hubs of a cluster: made once and kept in <data-dir>/hub-id (so a restart
// is the same hub and keeps its leases), or given with --hub-id.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';

const ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function checkHubId(id: string, what = '--hub-id'): string {
  if (!ID.test(id)) throw new ConfigError(`${what} must be 1 to 63 lowercase letters, digits or dashes (got "${id}")`);
  return id;
}

/** The flag's id (stored for next time), else the stored one, else a new one (stored). */
export function hubIdFor(dataDir: string, flag?: string): string {
  const file = join(dataDir, 'hub-id');
  if (flag) {
    writeFileSync(file, `${checkHubId(flag)}\n`, { mode: 0o600 });
    return flag;
  }
  try {
    return checkHubId(readFileSync(file, 'utf8').trim(), file);
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOENT') throw err;
  }
  const id = `hub-${randomBytes(4).toString('hex')}`;
  writeFileSync(file, `${id}\n`, { mode: 0o600, flag: 'wx' });
  return id;
}
