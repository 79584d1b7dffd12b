// The head of a backup archive (archive.ts): its layout constants, the manifest's shape, and reading
// the manifest alone (for listings) without the rest of the file.
import { open } from 'node:fs/promises';
import { BackupError } from '../errors.js';
export const MAGIC = Buffer.from('ATOLLBAK');
/** Bump when a reader of the previous version could not restore what this one writes. */
export const FORMAT_VERSION = 2;
/** The first format with an HMAC; older archives are read only when the operator accepts them unsigned. */
export const SIGNED_SINCE = 2;
export const ARCHIVE_SUFFIX = '.atoll-backup';
/** A manifest is a few KiB; more is not one of ours. */
export const MAX_MANIFEST_BYTES = 1 << 20;
export const DIGEST_BYTES = 32;
export const MAC_BYTES = 32;

export interface MemberInfo {
  name: string;
  /** Stored (gzipped) bytes. */
  size: number;
  sha256: string;
}

export interface Manifest {
  format: number;
  atollVersion: string;
  createdAt: string;
  /** Where the hub's store came from (the archive always holds it as a SQLite file, hub.db). */
  datastore: 'sqlite' | 'postgres';
  /** The pin of the CA sealed in the store. */
  caPin: string | null;
  /** How the cluster secret travels: sealed with a passphrase, or not at all (the operator keeps it). */
  secrets: 'passphrase' | 'none';
  /** What the k3s datastore snapshot is, or why there is none. */
  k3s: { kind: 'sqlite' | 'standin-file' | 'etcd-snapshot' | 'none'; note: string };
  /**
   * Set when part of the cluster could not be put in the archive (k3s was down: no Kubernetes objects),
   * and why. Such an archive does not count as a good backup for the age, nor for pruning older ones.
   */
  incomplete?: string;
  members: MemberInfo[];
}

export type ManifestHead = Omit<Manifest, 'members' | 'format'>;

export function corrupt(path: string, why: string): BackupError {
  return new BackupError(
    'BACKUP_CORRUPT',
    `${path} is not a complete atoll backup (${why}): it is truncated or damaged; nothing was changed`,
  );
}

export function parseManifest(path: string, head: Buffer): Manifest {
  if (head.length < MAGIC.length + 4 || !head.subarray(0, MAGIC.length).equals(MAGIC))
    throw corrupt(path, 'no atoll backup header');
  const n = head.readUInt32BE(MAGIC.length);
  if (n > MAX_MANIFEST_BYTES || head.length < MAGIC.length + 4 + n) throw corrupt(path, 'the manifest is cut short');
  let m: Manifest;
  try {
    m = JSON.parse(head.subarray(MAGIC.length + 4, MAGIC.length + 4 + n).toString('utf8')) as Manifest;
  } catch {
    throw corrupt(path, 'the manifest is not JSON');
  }
  if (typeof m?.format !== 'number' || !Array.isArray(m.members)) throw corrupt(path, 'the manifest has no format');
  if (m.format > FORMAT_VERSION)
    throw new BackupError(
      'BACKUP_TOO_NEW',
      `${path} was written by atoll ${String(m.atollVersion)} in backup format ${m.format}; this atoll reads format ${FORMAT_VERSION} at most: restore it with that atoll or a newer one; nothing was changed`,
    );
  return m;
}

const PREFIX_BYTES = MAGIC.length + 4;

/**
 * The manifest alone (for listings) and the size the whole file must have by it (NaN when a member has
 * no size), read off the event loop.
 */
export async function readManifestHead(path: string): Promise<{ manifest: Manifest; bytes: number }> {
  const fh = await open(path, 'r');
  try {
    const first = Buffer.alloc(PREFIX_BYTES);
    const got = (await fh.read(first, 0, first.length, 0)).bytesRead;
    const n = got === first.length ? first.readUInt32BE(MAGIC.length) : 0;
    const head = Buffer.alloc(PREFIX_BYTES + Math.min(n, MAX_MANIFEST_BYTES));
    const total = (await fh.read(head, 0, head.length, 0)).bytesRead;
    const manifest = parseManifest(path, head.subarray(0, total));
    const body = manifest.members.reduce((s, m) => s + (Number.isSafeInteger(m.size) && m.size >= 0 ? m.size : NaN), 0);
    const trailer = DIGEST_BYTES + (manifest.format >= SIGNED_SINCE ? MAC_BYTES : 0);
    return { manifest, bytes: PREFIX_BYTES + n + body + trailer };
  } finally {
    await fh.close();
  }
}
