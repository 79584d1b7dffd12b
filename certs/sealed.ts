// Sealed secrets: AES-256-GCM under a key derived (HKDF-SHA256) from the cluster secret, so what the
// store holds (the CA key, the serving key, TLS ticket keys, k3s tokens) gives nothing away without
// that secret. One envelope, versioned:
//
//   magic "atsl" (4) | version 1 (1) | key id (8) | salt (16) | nonce (12) | tag (16) | ciphertext
//
// Each seal draws a fresh salt (so a fresh key: HKDF(secret, salt, "atoll/sealed/v1/" + purpose)) and
// a fresh nonce. The header, the purpose and the secret's name are authenticated (GCM additional
// data), so a blob sealed for one name does not open as another. The key id (HKDF of the secret with
// its own info string; it says nothing about the key) tells "sealed with another cluster secret"
// apart from "changed since it was sealed", so each gets its own error and message.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { AtollError } from './atoll-error.js';

/** The secret sealing keys come from, and where it was read from (named in error messages). */
export interface SealKey {
  /** 32 bytes. */
  readonly secret: Buffer;
  /** Where the secret comes from, e.g. the cluster secret file's path. */
  readonly source: string;
}

export type SealErrorCode = 'CLUSTER_SECRET_MISMATCH' | 'SEALED_DAMAGED' | 'SEALED_MALFORMED';

export class SealError extends AtollError<SealErrorCode> {
  constructor(
    code: SealErrorCode,
    message: string,
    /** For CLUSTER_SECRET_MISMATCH: the key id in the blob, and the one of the secret given. */
    readonly keyIds?: { sealed: string; given: string },
  ) {
    super(code, message);
    this.name = 'SealError';
  }
}

const MAGIC = Buffer.from('atsl', 'latin1');
const VERSION = 1;
const KEY_ID_LEN = 8;
const SALT_LEN = 16;
const NONCE_LEN = 12;
const TAG_LEN = 16;
const HEADER_LEN = MAGIC.length + 1 + KEY_ID_LEN + SALT_LEN + NONCE_LEN;
/** The smallest envelope: header and tag around an empty plaintext. */
export const SEALED_OVERHEAD = HEADER_LEN + TAG_LEN;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}$/;

function checkKey(key: SealKey): void {
  if (key.secret.length !== 32) throw new RangeError('a cluster secret is 32 bytes');
}

function checkLabel(what: string, value: string): void {
  if (!NAME_RE.test(value)) throw new RangeError(`${what} "${value.slice(0, 60)}" is not a sealed-secret label`);
}

/** The public identity of a secret (8 bytes, hex): equal for equal secrets, reveals nothing of it. */
export function sealKeyId(key: SealKey): string {
  return keyId(key).toString('hex');
}

function keyId(key: SealKey): Buffer {
  checkKey(key);
  return Buffer.from(hkdfSync('sha256', key.secret, Buffer.alloc(0), 'atoll/cluster-secret-id/v1', KEY_ID_LEN));
}

function derive(key: SealKey, salt: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', key.secret, salt, `atoll/sealed/v1/${purpose}`, 32));
}

function aad(header: Buffer, purpose: string, name: string): Buffer {
  return Buffer.concat([header, Buffer.from(`${purpose}\0${name}`, 'utf8')]);
}

/**
 * Seals `plaintext` for `purpose` (what kind of secret: "store", "k3s-node-token") under `name` (which
 * one: "ca", a node id). Both are bound to the blob; opening needs the same two.
 */
export function seal(key: SealKey, purpose: string, name: string, plaintext: Buffer | string): Buffer {
  checkLabel('purpose', purpose);
  checkLabel('name', name);
  const salt = randomBytes(SALT_LEN);
  const nonce = randomBytes(NONCE_LEN);
  const header = Buffer.concat([MAGIC, Buffer.from([VERSION]), keyId(key), salt, nonce]);
  const cipher = createCipheriv('aes-256-gcm', derive(key, salt, purpose), nonce, { authTagLength: TAG_LEN });
  cipher.setAAD(aad(header, purpose, name));
  const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
  const body = Buffer.concat([cipher.update(data), cipher.final()]);
  return Buffer.concat([header, cipher.getAuthTag(), body]);
}

/** Opens what `seal` made with the same key, purpose and name; SealError otherwise. */
export function unseal(key: SealKey, purpose: string, name: string, sealed: Buffer): Buffer {
  checkLabel('purpose', purpose);
  checkLabel('name', name);
  const what = `the sealed ${purpose} secret "${name}"`;
  if (sealed.length < SEALED_OVERHEAD || !sealed.subarray(0, MAGIC.length).equals(MAGIC))
    throw new SealError('SEALED_MALFORMED', `${what} is not a sealed secret (too short, or no "atsl" header)`);
  const version = sealed[MAGIC.length];
  if (version !== VERSION)
    throw new SealError(
      'SEALED_MALFORMED',
      `${what} has envelope version ${version}, this atoll knows version ${VERSION}: it was sealed by a newer atoll`,
    );
  let at = MAGIC.length + 1;
  const id = sealed.subarray(at, (at += KEY_ID_LEN));
  const salt = sealed.subarray(at, (at += SALT_LEN));
  const nonce = sealed.subarray(at, (at += NONCE_LEN));
  const tag = sealed.subarray(at, (at += TAG_LEN));
  const body = sealed.subarray(at);
  if (!id.equals(keyId(key)))
    throw new SealError(
      'CLUSTER_SECRET_MISMATCH',
      `${what} was sealed with another cluster secret than the one in ${key.source} (key id ${id.toString('hex')}, ` +
        `${key.source} has ${sealKeyId(key)}): give the hub the cluster secret file the store was made with ` +
        '(--cluster-secret-file; the same file on every hub of a cluster), or restore that file from a backup',
      { sealed: id.toString('hex'), given: sealKeyId(key) },
    );
  const decipher = createDecipheriv('aes-256-gcm', derive(key, salt, purpose), nonce, { authTagLength: TAG_LEN });
  decipher.setAAD(aad(sealed.subarray(0, HEADER_LEN), purpose, name));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw new SealError(
      'SEALED_DAMAGED',
      `${what} does not open with the right cluster secret: it was changed or truncated since it was sealed, ` +
        'or it was sealed for another name; restore the store from a backup',
    );
  }
}
