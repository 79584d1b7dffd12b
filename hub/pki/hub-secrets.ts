// The hub's keys besides the CA, from the store (sealed): the serving key (shared by every hub of a
// cluster, so the --pinnedpubkey in install lines holds on each), the TLS session ticket keys (so
// tickets outlive a restart and work on any hub), and the k3s server token (the same on every k3s
// server of the cluster; k3s seals its bootstrap data with it). Each is taken from the store; else
// imported once from the old data dir layout (legacy-files.ts); else made. First hub wins.
import { createPrivateKey, randomBytes } from 'node:crypto';
import { generateKeyPair } from '../../certs/keys.js';
import type { Logger } from '../logger.js';
import { k3sDataDir } from '../k3s/server-args.js';
import { readLegacyK3sServerToken, readLegacyServingKey, readLegacyTicketKeys } from './legacy-files.js';
import { SECRET_NAMES, type StoreSecrets } from './store-secrets.js';

export interface HubKeys {
  servingKeyPem: string;
  /** 48 bytes of TLS session ticket keys. */
  ticketKeys: Buffer;
  /** What `k3s server` gets as K3S_TOKEN. */
  k3sServerToken: string;
}

interface OneSecret {
  name: string;
  /** The old layout's file, when it holds a usable value. */
  legacy(): Buffer | undefined;
  make(): Promise<Buffer> | Buffer;
  file: string;
}

function isPrivateKey(pem: string): boolean {
  try {
    createPrivateKey(pem);
    return true;
  } catch {
    return false;
  }
}

async function loadOne(secrets: StoreSecrets, s: OneSecret, log: Logger): Promise<Buffer> {
  const have = await secrets.get(s.name);
  if (have) return have;
  const legacy = s.legacy();
  const { value, won } = await secrets.putIfAbsent(s.name, legacy ?? (await s.make()));
  if (legacy && won)
    log.info(
      { component: 'pki', secret: s.name, file: s.file },
      'imported into the store, sealed; the file is no longer read and was left in place: remove it once hub.db and the cluster secret are backed up',
    );
  else if (legacy)
    log.warn(
      { component: 'pki', secret: s.name, file: s.file },
      'another hub stored this secret first; the file is not used',
    );
  return value;
}

export async function loadHubKeys(secrets: StoreSecrets, dataDir: string, log: Logger): Promise<HubKeys> {
  const k3sDir = k3sDataDir(dataDir);
  const serving = await loadOne(
    secrets,
    {
      name: SECRET_NAMES.servingKey,
      file: `${dataDir}/serving.key`,
      legacy: () => {
        const pem = readLegacyServingKey(dataDir);
        // An unreadable key was replaced by the old hub too (a new key, and pin).
        return pem && isPrivateKey(pem) ? Buffer.from(pem) : undefined;
      },
      make: async () => Buffer.from((await generateKeyPair()).privateKeyPem),
    },
    log,
  );
  const ticketKeys = await loadOne(
    secrets,
    {
      name: SECRET_NAMES.ticketKeys,
      file: `${dataDir}/tls-ticket-keys`,
      legacy: () => readLegacyTicketKeys(dataDir),
      make: () => randomBytes(48),
    },
    log,
  );
  const k3sToken = await loadOne(
    secrets,
    {
      name: SECRET_NAMES.k3sServerToken,
      file: `${k3sDir}/server/token`,
      legacy: () => {
        const t = readLegacyK3sServerToken(k3sDir);
        return t ? Buffer.from(t) : undefined;
      },
      // The short form (a password): k3s turns it into K10<CA hash>::server:<password> itself.
      make: () => Buffer.from(randomBytes(32).toString('hex')),
    },
    log,
  );
  const k3sServerToken = k3sToken.toString('utf8');
  const onDisk = readLegacyK3sServerToken(k3sDir);
  if (onDisk && passwordOf(onDisk) !== passwordOf(k3sServerToken))
    log.warn(
      { component: 'k3s', file: `${k3sDir}/server/token` },
      "this hub's k3s data holds another server token than the cluster's (in the store): k3s will refuse to start on it",
    );
  return { servingKeyPem: serving.toString('utf8'), ticketKeys, k3sServerToken };
}

/** The password of a k3s server token: the part after `::server:` in the K10 form, else all of it. */
export function passwordOf(token: string): string {
  const m = /^K10[0-9a-f]*::[^:]+:(.+)$/.exec(token);
  return m ? m[1] : token;
}
