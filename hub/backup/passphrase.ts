// The secrets a restore needs beside the store (the cluster secret, which opens the CA and keys
// sealed in it, and the admin token), sealed with a passphrase: scrypt (N=2^15, r=8, p=1) to an
// AES-256-GCM key, a random salt and nonce per archive. A wrong passphrase fails the GCM tag.
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { BackupError } from '../errors.js';

const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const MAX_PASSPHRASE_FILE = 4096;
const MIN_PASSPHRASE = 8;

export interface BackupSecrets {
  /** The cluster secret file's text (64 hex digits). */
  clusterSecret: string;
  /** Older archives sealed the admin token too; it is no longer written nor restored. */
  adminToken?: string;
}

/** The passphrase in a file (--passphrase-file): its first line, at least 8 characters. */
export function readPassphraseFile(path: string): string {
  let text: string;
  try {
    if (statSync(path).size > MAX_PASSPHRASE_FILE)
      throw new BackupError('BACKUP_PASSPHRASE', `${path} is larger than a passphrase file (4 KiB at most)`);
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof BackupError) throw err;
    throw new BackupError('BACKUP_PASSPHRASE', `cannot read the passphrase file ${path}: ${(err as Error).message}`);
  }
  const pass = text.split(/\r?\n/)[0] ?? '';
  if (pass.length < MIN_PASSPHRASE)
    throw new BackupError(
      'BACKUP_PASSPHRASE',
      `the passphrase in ${path} is shorter than ${MIN_PASSPHRASE} characters`,
    );
  return pass;
}

function keyOf(passphrase: string, salt: Buffer): Buffer {
  return scryptSync(passphrase, salt, 32, SCRYPT);
}

export function sealSecrets(secrets: BackupSecrets, passphrase: string): Buffer {
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', keyOf(passphrase, salt), iv);
  const body = Buffer.concat([c.update(JSON.stringify(secrets), 'utf8'), c.final()]);
  return Buffer.from(
    JSON.stringify({
      v: 1,
      kdf: 'scrypt',
      salt: salt.toString('base64'),
      iv: iv.toString('base64'),
      tag: c.getAuthTag().toString('base64'),
      data: body.toString('base64'),
    }),
  );
}

export function openSecrets(sealed: Buffer, passphrase: string, archive: string): BackupSecrets {
  let s: { salt: string; iv: string; tag: string; data: string };
  try {
    s = JSON.parse(sealed.toString('utf8')) as typeof s;
  } catch {
    throw new BackupError('BACKUP_CORRUPT', `${archive}: the sealed secrets are not readable; nothing was changed`);
  }
  try {
    const d = createDecipheriv(
      'aes-256-gcm',
      keyOf(passphrase, Buffer.from(s.salt, 'base64')),
      Buffer.from(s.iv, 'base64'),
    );
    d.setAuthTag(Buffer.from(s.tag, 'base64'));
    const text = Buffer.concat([d.update(Buffer.from(s.data, 'base64')), d.final()]).toString('utf8');
    return JSON.parse(text) as BackupSecrets;
  } catch {
    throw new BackupError(
      'BACKUP_PASSPHRASE',
      `the passphrase does not open the secrets in ${archive} (not the one it was made with); nothing was changed`,
    );
  }
}
