// atoll-hub restore FILE --data-dir D: a new data dir from a backup, so that `atoll-hub run --data-dir D`
// comes back with the same CA (agents reconnect with the certificates they hold). The archive is read
// and checked in full, and the new data dir is staged beside D and renamed into place at the end: a
// corrupted, truncated or too new archive, a wrong passphrase or a non-empty D change nothing. So does
// an archive whose signature (an HMAC keyed from the cluster secret) does not check out.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { writeSecretFile } from '../../certs/files.js';
import { BackupError } from '../errors.js';
import { inspectDatabaseFile } from '../store/integrity.js';
import { readClusterSecret } from '../pki/cluster-secret.js';
import { k3sDataDir } from '../k3s/server-args.js';
import { archiveMacKey, readArchive, verifyArchive, type Manifest } from './archive.js';
import { HUB_DB_MEMBER, K3S_DATASTORE_MEMBERS, K3S_ETCD_MEMBER, SECRETS_MEMBER } from './create.js';
import { markEtcdRestore } from '../k3s/etcd-restore.js';
import { openSecrets, type BackupSecrets } from './passphrase.js';
import { isEmptyDir, removeQuietly } from './files.js';
import {
  appendEventToFile,
  dropRuntimeRows,
  revokeRestoredCredentials,
  type RestoredCredentials,
} from '../store/sqlite-backup.js';
import { K3S_KEYS_MEMBER, restoreK3sServerKeys } from './k3s-keys.js';

export interface RestoreOptions {
  file: string;
  dataDir: string;
  /** Opens the secrets sealed in the archive. */
  passphrase?: string;
  /** For an archive without secrets: the cluster secret file to put in the data dir. */
  clusterSecretFile?: string;
  /** Restore an archive whose signature cannot be checked (format 1, or no cluster secret given). */
  acceptUnsigned?: boolean;
  actor?: string;
}

export interface RestoreResult {
  dataDir: string;
  manifest: Manifest;
  /** Where the cluster secret came from: the archive, the given file, or nowhere (the operator supplies it). */
  clusterSecret: 'archive' | 'file' | 'missing';
  /** The k3s server's token and CA files put back, 'missing' when the archive holds them but no cluster secret opens them. */
  k3sKeys: number | 'missing';
  /** Join tokens revoked, and the API tokens that came back (hub/store/sqlite-backup.ts). */
  credentials: RestoredCredentials;
}

const HEX64 = /^[0-9a-fA-F]{64}$/;

function secretsOf(o: RestoreOptions, manifest: Manifest, sealed: Buffer | undefined): BackupSecrets | undefined {
  if (manifest.secrets === 'passphrase') {
    if (!sealed) throw new BackupError('BACKUP_CORRUPT', `${o.file} lists sealed secrets but holds none`);
    if (o.passphrase === undefined)
      throw new BackupError(
        'BACKUP_NEEDS_SECRET',
        `${o.file} holds the cluster secret sealed with a passphrase: pass --passphrase-file; nothing was changed`,
      );
    const s = openSecrets(sealed, o.passphrase, o.file);
    if (!HEX64.test(s.clusterSecret ?? ''))
      throw new BackupError('BACKUP_CORRUPT', `${o.file}: the sealed cluster secret is not one; nothing was changed`);
    return s;
  }
  if (o.clusterSecretFile)
    return { clusterSecret: readClusterSecret(resolve(o.clusterSecretFile)).secret.toString('hex') };
  return undefined;
}

export function restoreBackup(o: RestoreOptions): RestoreResult {
  const dataDir = resolve(o.dataDir);
  if (!isEmptyDir(dataDir))
    throw new BackupError(
      'RESTORE_TARGET_NOT_EMPTY',
      `${dataDir} is not empty: restore into a new or empty data dir (stop the hub, move the old one away); nothing was changed`,
    );
  const archive = readArchive(o.file);
  const { manifest, members } = archive;
  const secrets = secretsOf(o, manifest, members.get(SECRETS_MEMBER));
  const macKey = secrets ? archiveMacKey(Buffer.from(secrets.clusterSecret, 'hex')) : undefined;
  verifyArchive(o.file, archive, macKey, o.acceptUnsigned === true);
  const db = members.get(HUB_DB_MEMBER);
  if (!db) throw new BackupError('BACKUP_CORRUPT', `${o.file} holds no hub store (hub.db); nothing was changed`);
  mkdirSync(dirname(dataDir), { recursive: true });
  const stage = mkdtempSync(join(dirname(dataDir), `.${basename(dataDir)}.restore-`));
  let k3sKeys: number | 'missing' = 0;
  let credentials: RestoredCredentials = { joinTokensRevoked: [], apiTokens: [] };
  try {
    chmodSync(stage, 0o700);
    const dbPath = join(stage, 'hub.db');
    writeSecretFile(dbPath, db);
    const check = inspectDatabaseFile(dbPath, 'quick');
    if (!check.ok || check.caPin !== manifest.caPin)
      throw new BackupError(
        'BACKUP_CORRUPT',
        `${o.file}: its hub store does not check out (${check.problems[0] ?? `CA pin ${check.caPin}`}); nothing was changed`,
      );
    dropRuntimeRows(dbPath);
    credentials = revokeRestoredCredentials(dbPath, new Date().toISOString());
    if (secrets) {
      writeSecretFile(join(stage, 'cluster-secret'), `${secrets.clusterSecret}\n`);
    }
    const sealedKeys = members.get(K3S_KEYS_MEMBER);
    if (sealedKeys && secrets)
      k3sKeys = restoreK3sServerKeys(
        sealedKeys,
        join(k3sDataDir(stage), 'server'),
        { secret: Buffer.from(secrets.clusterSecret, 'hex'), source: 'the cluster secret of the restore' },
        o.file,
      );
    else if (sealedKeys) k3sKeys = 'missing';
    for (const name of K3S_DATASTORE_MEMBERS) {
      const data = members.get(name);
      if (!data) continue;
      const path = join(k3sDataDir(stage), ...name.split('/').slice(1));
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      writeSecretFile(path, data);
      // k3s restores an etcd snapshot itself, at the hub's first start (hub/k3s/etcd-restore.ts).
      if (name === K3S_ETCD_MEMBER) markEtcdRestore(k3sDataDir(stage), path, basename(o.file));
    }
    appendEventToFile(dbPath, {
      type: 'backup.restored',
      actor: o.actor ?? 'admin',
      message: `restored from ${basename(o.file)} (made ${manifest.createdAt} by atoll ${manifest.atollVersion}); ${credentials.joinTokensRevoked.length} join tokens revoked, ${credentials.apiTokens.length} API tokens back`,
      data: {
        file: basename(o.file),
        createdAt: manifest.createdAt,
        atollVersion: manifest.atollVersion,
        joinTokensRevoked: credentials.joinTokensRevoked,
        apiTokens: credentials.apiTokens.map((t) => t.id),
        adminToken: 'new at the first start',
      },
    });
    if (existsSync(dataDir)) rmdirSync(dataDir); // empty (checked above)
    renameSync(stage, dataDir);
  } catch (err) {
    removeQuietly(stage);
    throw err;
  }
  return {
    dataDir,
    manifest,
    clusterSecret: manifest.secrets === 'passphrase' ? 'archive' : secrets ? 'file' : 'missing',
    k3sKeys,
    credentials,
  };
}
