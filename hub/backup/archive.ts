// The backup archive: one file, read and checked in full before a restore writes anything.
//
//   "ATOLLBAK"  u32 BE manifest length  manifest (JSON)  member bytes, in manifest order
//   sha256 of all before   HMAC-SHA256 of all before the sha256 (format 2; format 1 ends at the sha256)
//
// The manifest names the format version, the atoll that wrote it, when, and each member's name, size
// and sha256 (members are gzipped). A truncated or altered file fails the trailing sha256; a member
// that does not match its digest is named; an archive of a newer format is refused before anything else.
// The sha256 only finds damage: the HMAC, keyed from the cluster secret (HKDF), is what tells that the
// archive was written by a hub holding that secret, and is checked before anything is restored.
import { createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { gunzipSync, gzip, gzipSync } from 'node:zlib';
import { promisify } from 'node:util';
import { BackupError } from '../errors.js';
import {
  DIGEST_BYTES,
  FORMAT_VERSION,
  MAC_BYTES,
  MAGIC,
  SIGNED_SINCE,
  corrupt,
  parseManifest,
  type Manifest,
  type ManifestHead,
} from './manifest.js';

export {
  ARCHIVE_SUFFIX,
  FORMAT_VERSION,
  MAGIC,
  readManifestHead,
  type Manifest,
  type ManifestHead,
  type MemberInfo,
} from './manifest.js';

/** What a restore holds in memory at once: the archive file, and its members unpacked. */
export interface ArchiveLimits {
  fileBytes: number;
  unpackedBytes: number;
}
export const ARCHIVE_LIMITS: ArchiveLimits = Object.freeze({ fileBytes: 1 << 30, unpackedBytes: 1 << 30 });
const mib = (n: number): string => `${Math.round(n / (1 << 20))} MiB`;

const gzipAsync = promisify(gzip);
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** The archive's HMAC key, from the cluster secret (its 32 bytes). */
export function archiveMacKey(clusterSecret: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', clusterSecret, 'atoll-backup', 'archive hmac v2', 32));
}

type Stored = { name: string; data: Buffer }[];

function checkUnpacked(members: Map<string, Buffer>): void {
  const unpacked = [...members.values()].reduce((n, b) => n + b.length, 0);
  if (unpacked > ARCHIVE_LIMITS.unpackedBytes)
    throw new BackupError(
      'BACKUP_FAILED',
      `the backup would hold ${mib(unpacked)}, more than a restore reads (${mib(ARCHIVE_LIMITS.unpackedBytes)})`,
    );
}

/** Writes the archive at `path` (0600) through a temp name beside it, renamed once complete and synced. */
export function writeArchive(path: string, head: ManifestHead, members: Map<string, Buffer>, macKey: Buffer): Manifest {
  checkUnpacked(members);
  return writeStored(
    path,
    head,
    [...members].map(([name, data]) => ({ name, data: gzipSync(data) })),
    macKey,
  );
}

/** The same, with the members compressed on libuv's thread pool: a running hub's event loop stays free. */
export async function writeArchiveAsync(
  path: string,
  head: ManifestHead,
  members: Map<string, Buffer>,
  macKey: Buffer,
): Promise<Manifest> {
  checkUnpacked(members);
  const stored = await Promise.all([...members].map(async ([name, data]) => ({ name, data: await gzipAsync(data) })));
  return writeStored(path, head, stored, macKey);
}

function writeStored(path: string, head: ManifestHead, stored: Stored, macKey: Buffer): Manifest {
  const manifest: Manifest = {
    format: FORMAT_VERSION,
    ...head,
    members: stored.map((m) => ({ name: m.name, size: m.data.length, sha256: sha(m.data) })),
  };
  const json = Buffer.from(JSON.stringify(manifest));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(json.length);
  const hash = createHash('sha256');
  const mac = createHmac('sha256', macKey);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    for (const part of [MAGIC, len, json, ...stored.map((m) => m.data)]) {
      hash.update(part);
      mac.update(part);
      writeFileSync(fd, part); // loops over short writes (a filling disk), unlike one writeSync
    }
    writeFileSync(fd, hash.digest());
    writeFileSync(fd, mac.digest());
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
  } catch (err) {
    try {
      closeSync(fd);
    } catch {
      // closed already
    }
    rmSync(tmp, { force: true });
    throw err;
  }
  return manifest;
}

export interface ReadArchive {
  manifest: Manifest;
  members: Map<string, Buffer>;
  /** The signed bytes and their HMAC; null for an archive of a format before signatures. */
  signed: { body: Buffer; mac: Buffer } | null;
}

/** Reads and checks the whole archive: every member is returned unpacked, or nothing is. Not its signature: see verifyArchive. */
export function readArchive(path: string, limits: ArchiveLimits = ARCHIVE_LIMITS): ReadArchive {
  const bytes = statSync(path).size;
  if (bytes > limits.fileBytes)
    throw new BackupError(
      'BACKUP_TOO_LARGE',
      `${path} is ${mib(bytes)}, more than an atoll backup can be (${mib(limits.fileBytes)}): it is not one of ours; nothing was changed`,
    );
  const file = readFileSync(path);
  const manifest = parseManifest(path, file);
  const trailer = DIGEST_BYTES + (manifest.format >= SIGNED_SINCE ? MAC_BYTES : 0);
  const start = MAGIC.length + 4 + file.readUInt32BE(MAGIC.length);
  const body = manifest.members.reduce((s, m) => s + (Number.isSafeInteger(m.size) && m.size >= 0 ? m.size : NaN), 0);
  if (!Number.isFinite(body)) throw corrupt(path, 'a member has no size');
  if (file.length !== start + body + trailer)
    throw corrupt(path, `${file.length} bytes, the manifest makes it ${start + body + trailer}`);
  const end = start + body;
  if (
    !createHash('sha256')
      .update(file.subarray(0, end))
      .digest()
      .equals(file.subarray(end, end + DIGEST_BYTES))
  )
    throw corrupt(path, 'its checksum does not match');
  const members = new Map<string, Buffer>();
  let at = start;
  let budget = limits.unpackedBytes;
  for (const m of manifest.members) {
    const stored = file.subarray(at, at + m.size);
    at += m.size;
    if (sha(stored) !== m.sha256) throw corrupt(path, `member ${m.name} does not match its sha256`);
    let data: Buffer;
    try {
      data = gunzipSync(stored, { maxOutputLength: Math.max(budget, 1) });
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
        throw new BackupError(
          'BACKUP_TOO_LARGE',
          `${path}: member ${m.name} unpacks to more than an atoll backup holds (${mib(limits.unpackedBytes)} in all): it is not one of ours; nothing was changed`,
        );
      throw corrupt(path, `member ${m.name} does not unpack`);
    }
    budget -= data.length;
    members.set(m.name, data);
  }
  const signed =
    manifest.format >= SIGNED_SINCE ? { body: file.subarray(0, end), mac: file.subarray(end + DIGEST_BYTES) } : null;
  return { manifest, members, signed };
}

/**
 * Refuses an archive whose HMAC does not match `macKey` (it was altered, or written by a hub with another
 * cluster secret), one that cannot be checked (no key), and one of a format before signatures, unless the
 * operator accepts it unsigned (--accept-unsigned).
 */
export function verifyArchive(path: string, a: ReadArchive, macKey: Buffer | undefined, acceptUnsigned: boolean): void {
  if (!a.signed) {
    if (acceptUnsigned) return;
    throw new BackupError(
      'BACKUP_UNSIGNED',
      `${path} is a format ${a.manifest.format} archive, which carries no signature: anyone who could write it may have changed it; pass --accept-unsigned to use it anyway; nothing was changed`,
    );
  }
  if (!macKey) {
    if (acceptUnsigned) return;
    throw new BackupError(
      'BACKUP_NEEDS_SECRET',
      `${path} is signed with the cluster secret it was made with: pass --cluster-secret-file (or --passphrase-file for an archive holding it) to check it, or --accept-unsigned to restore it unchecked; nothing was changed`,
    );
  }
  const want = createHmac('sha256', macKey).update(a.signed.body).digest();
  if (a.signed.mac.length !== want.length || !timingSafeEqual(a.signed.mac, want))
    throw new BackupError(
      'BACKUP_SIGNATURE',
      `${path} does not carry a valid signature for this cluster secret: it was altered after it was written, or made by a hub with another cluster secret; nothing was changed`,
    );
}
