// The secrets sealed in the store, opened at start (open-state.ts opens the store first): the CA,
// the serving key, TLS ticket keys and the k3s server token, sealed with the cluster secret. A store
// from before sealing (ca.key and friends as files) is imported once; a store bound to another CA,
// or sealed with another cluster secret, is refused with what to do, before anything is written.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCa, type CaMaterial } from '../../certs/ca.js';
import { certKeySha256, privateKeySha256 } from '../../certs/key-id.js';
import { caPin } from '../../certs/pin.js';
import { writePublicFile } from '../../certs/files.js';
import { SealError } from '../../certs/sealed.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../logger.js';
import { CA_PIN_SETTING, type Store } from '../store/index.js';
import { buildHubPki, type HubPki } from './hub-pki.js';
import { clusterSecretExists, createClusterSecret, readClusterSecret, type ClusterSecret } from './cluster-secret.js';
import { readLegacyCa, readLegacyCaKey } from './legacy-files.js';
import { SECRET_NAMES, StoreSecrets } from './store-secrets.js';
import { loadHubKeys } from './hub-secrets.js';
import { sealPlaintextNodeTokens } from '../k3s/node-token-seal.js';

/** A refusal the operator can act on; --reinit-store (SQLite) would have gone past it. */
export class StoreRefused extends ConfigError {}

export const REINIT =
  'or start over with an empty store with --reinit-store (the old file is kept; every node must join again)';

export interface SecretsOptions {
  dataDir: string;
  publicUrl: string;
  /** Further hosts for the serving certificate (--gateway-url's, --tls-san). */
  extraHosts?: readonly string[];
  /** --cluster-secret-file. */
  clusterSecretFile: string;
  logger: Logger;
}

export interface OpenedSecrets {
  store: Store;
  pki: HubPki & { created: boolean };
  clusterSecret: ClusterSecret;
  k3sServerToken: string;
}

export async function openSecrets(store: Store, opts: SecretsOptions, dbPath: string): Promise<OpenedSecrets> {
  const { dataDir, logger } = opts;
  const caCrt = join(dataDir, 'ca.crt');
  const bound = await store.getSetting<string>(CA_PIN_SETTING);
  const onDisk = existsSync(caCrt) ? caPin(readFileSync(caCrt, 'utf8')) : undefined;
  const sealedCa = await store.getSecret(SECRET_NAMES.ca);
  if (bound && onDisk && bound !== onDisk) {
    const useStore = sealedCa ? ' (or, when this store is the one to use, move ca.crt and any ca.key away)' : '';
    throw new StoreRefused(
      `${dbPath} belongs to another CA (pin ${bound}) than ${caCrt} (pin ${onDisk}): ` +
        `restore the matching hub.db from a backup${useStore}, ${REINIT}`,
    );
  }
  const clusterSecret = openClusterSecret(opts.clusterSecretFile, sealedCa !== undefined, dbPath);
  const secrets = new StoreSecrets(store, clusterSecret);
  let ca: CaMaterial;
  let created = false;
  if (sealedCa) {
    ca = parseCa(openSealedCa(secrets, sealedCa, dbPath));
    const legacyKey = readLegacyCaKey(dataDir);
    const legacyKeyId = legacyKey && keyIdOf(legacyKey);
    if (legacyKeyId && legacyKeyId !== certKeySha256(ca.certPem))
      throw new StoreRefused(
        `${join(dataDir, 'ca.key')} is another CA's key than the one ${dbPath} holds (sealed): the store's CA is the ` +
          `hub's CA. Move ca.key away (keep it if another hub needs it), or restore the matching hub.db, ${REINIT}`,
      );
  } else {
    const legacy = readLegacyCa(dataDir);
    if (!legacy && (bound || (await holdsData(store)))) {
      throw new StoreRefused(
        `${caCrt} or ca.key is missing, but ${dbPath} holds the nodes and certificates that CA signed: ` +
          `restore ca.crt and ca.key from a backup (with the hub stopped), ${REINIT.replace('an empty store', 'a new CA and an empty store')}`,
      );
    }
    if (legacy && keyIdOf(legacy.keyPem) !== certKeySha256(legacy.certPem))
      throw new StoreRefused(
        `${join(dataDir, 'ca.key')} is not the key of ${caCrt}: restore the matching pair from a backup, ${REINIT.replace('an empty store', 'a new CA and an empty store')}`,
      );
    const mine = legacy ?? (await createCa({ commonName: 'atoll-hub-ca' }));
    // Checked before the import writes anything: a store bound to another CA keeps refusing.
    if (bound && bound !== caPin(mine.certPem))
      throw new StoreRefused(
        `${dbPath} belongs to another CA (pin ${bound}) than ${caCrt}: restore the matching files, ${REINIT}`,
      );
    const put = await secrets.putIfAbsent(SECRET_NAMES.ca, Buffer.from(JSON.stringify(mine)));
    ca = parseCa(put.value);
    created = put.won && !legacy;
    if (legacy && put.won)
      logger.info(
        { component: 'pki', caPin: caPin(ca.certPem), file: join(dataDir, 'ca.key') },
        'imported the CA into the store, sealed with the cluster secret (read back and checked); ca.key is no longer read and was left in place: remove it once hub.db and the cluster secret are backed up',
      );
  }
  const pin = caPin(ca.certPem);
  if (bound && bound !== pin)
    throw new StoreRefused(
      `${dbPath} belongs to another CA (pin ${bound}) than the one sealed in it (pin ${pin}), ${REINIT}`,
    );
  if (!bound) {
    await store.setSetting(CA_PIN_SETTING, pin);
    if (onDisk && !created) logger.info({ component: 'store', caPin: pin }, 'bound the store to the CA beside it');
  }
  if (onDisk !== pin) {
    if (onDisk) logger.warn({ component: 'pki', file: caCrt, caPin: pin }, "rewrote ca.crt with the store's CA");
    writePublicFile(caCrt, ca.certPem);
  }
  const keys = await loadHubKeys(secrets, dataDir, logger);
  const pki = await buildHubPki(dataDir, opts.publicUrl, ca, keys, opts.extraHosts);
  await sealPlaintextNodeTokens(store, clusterSecret, logger);
  return { store, pki: { ...pki, created }, clusterSecret, k3sServerToken: keys.k3sServerToken };
}

/** The cluster secret file; made only when the store holds nothing sealed (a first start). */
function openClusterSecret(path: string, storeHasSecrets: boolean, dbPath: string): ClusterSecret {
  if (clusterSecretExists(path)) return readClusterSecret(path);
  if (storeHasSecrets)
    throw new StoreRefused(
      `${dbPath} holds the hub's CA sealed with a cluster secret, but ${path} does not exist: copy the cluster ` +
        'secret file of the hub that made this store (the same file on every hub of a cluster) there, or pass its ' +
        'path with --cluster-secret-file, or restore it from a backup. Nothing was changed. If that file is lost, so ' +
        'is the CA sealed in the store: --reinit-store moves the store aside and starts over with a new CA (every node must join again)',
    );
  return createClusterSecret(path);
}

function openSealedCa(secrets: StoreSecrets, sealed: Buffer, dbPath: string): Buffer {
  try {
    return secrets.open(SECRET_NAMES.ca, sealed);
  } catch (err) {
    if (!(err instanceof SealError)) throw err;
    if (err.code !== 'CLUSTER_SECRET_MISMATCH') throw new SealError(err.code, `${dbPath}: ${err.message}, ${REINIT}`);
    const ids = err.keyIds
      ? ` (the store's secrets are sealed with key id ${err.keyIds.sealed}, this file has ${err.keyIds.given})`
      : '';
    throw new SealError(
      err.code,
      `the cluster secret file ${secrets.key.source} does not match the one ${dbPath} was made with${ids}: ` +
        'start the hub with the cluster secret file the store was made with (--cluster-secret-file or ' +
        'ATOLL_CLUSTER_SECRET_FILE; the same file on every hub of a cluster), or restore that file from a backup. ' +
        'Nothing was changed. If that file is lost, so is the CA sealed in the store: --reinit-store moves the ' +
        'store aside and starts over with a new CA (every node must join again)',
      err.keyIds,
    );
  }
}

function parseCa(json: Buffer): CaMaterial {
  const v = JSON.parse(json.toString('utf8')) as Partial<CaMaterial>;
  if (typeof v.certPem !== 'string' || typeof v.keyPem !== 'string' || !v.certPem || !v.keyPem)
    throw new SealError('SEALED_MALFORMED', 'the sealed CA is not a certificate and key');
  return { certPem: v.certPem, keyPem: v.keyPem };
}

/** A PEM private key's identity; '' when the file holds none (a leftover the hub does not read). */
function keyIdOf(pem: string): string {
  try {
    return privateKeySha256(pem);
  } catch {
    return '';
  }
}

/** A store written before the CA pin was kept in it: does it hold anything a lost CA signed? */
export async function holdsData(store: Store): Promise<boolean> {
  return (await store.listNodes()).length > 0 || (await store.listTokens()).length > 0;
}
