// Writes backup archives the way someone who can write the backup storage could: members replaced,
// every sha256 recomputed, but without the cluster secret, so any HMAC they carry is not the hub's.
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { MAGIC, readArchive, type Manifest } from '../../hub/backup/archive.js';

export interface Forgery {
  /** New member contents by name (unpacked); the others are kept. */
  replace?: Map<string, Buffer>;
  /** Stored (already gzipped) member bytes by name, taken as they are. */
  rawStored?: Map<string, Buffer>;
  /** Manifest fields to change. */
  manifest?: Partial<Manifest>;
  /** The format to write (default the original's); format 2 and later get a trailing MAC of random bytes. */
  format?: number;
}

const sha = (b: Buffer): Buffer => createHash('sha256').update(b).digest();

/** Reads `from` (it must be a good archive) and writes the forged copy at `to`. */
export function forgeArchive(from: string, to: string, f: Forgery): void {
  const { manifest, members } = readArchive(from);
  const format = f.format ?? manifest.format;
  const stored = [...members].map(([name, data]) => ({
    name,
    data: f.rawStored?.get(name) ?? gzipSync(f.replace?.get(name) ?? data),
  }));
  const m: Manifest = {
    ...manifest,
    ...f.manifest,
    format,
    members: stored.map((s) => ({ name: s.name, size: s.data.length, sha256: sha(s.data).toString('hex') })),
  };
  const json = Buffer.from(JSON.stringify(m));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(json.length);
  const body = Buffer.concat([MAGIC, len, json, ...stored.map((s) => s.data)]);
  writeFileSync(to, Buffer.concat([body, sha(body), format >= 2 ? randomBytes(32) : Buffer.alloc(0)]), {
    mode: 0o600,
  });
}
