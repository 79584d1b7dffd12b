// The archives in a backups folder, newest first, from their manifests (a damaged one is listed as
// such, never skipped silently); and pruning to the newest N. The manifest alone is not trusted: a
// file shorter or longer than it says, or one dated in the future, is listed as damaged, an archive
// counts as made no later than its file was written, and pruning never removes the newest archive
// that reads back whole (and, with the cluster secret, carries its signature), nor the newest such
// complete one (an archive made while k3s was down lacks the Kubernetes objects).
import { randomBytes } from 'node:crypto';
import { readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readdir, stat } from 'node:fs/promises';
import { ARCHIVE_SUFFIX, readArchive, readManifestHead, verifyArchive, type Manifest } from './archive.js';

export interface BackupEntry {
  name: string;
  path: string;
  /** From the manifest, no later than the file's mtime; the file's mtime when the manifest is unreadable. */
  createdAt: string;
  bytes: number;
  atollVersion: string | null;
  /** Why the archive is not a good one; null for a good one. */
  problem: string | null;
  /** What a good archive lacks (k3s was down: no Kubernetes objects); null for a complete one. */
  incomplete: string | null;
}

/** At most this many archives are looked at in one folder. */
const MAX_LISTED = 10_000;
/** Clocks of the writer and of this host may differ by this much. */
const FUTURE_SLACK_MS = 5 * 60_000;

function problemOf(manifestBytes: number, fileBytes: number, createdMs: number, nowMs: number): string | null {
  if (!Number.isFinite(createdMs)) return 'the manifest has no creation time';
  if (createdMs > nowMs + FUTURE_SLACK_MS) return 'the manifest dates it in the future';
  if (manifestBytes !== fileBytes)
    return `${fileBytes} bytes, the manifest makes it ${Number.isFinite(manifestBytes) ? manifestBytes : 'unknown'}: truncated or damaged`;
  return null;
}

type FileFacts = { size: number; mtimeMs: number };
type Head = { manifest: Manifest; bytes: number };

function entryOf(name: string, path: string, st: FileFacts, head: Head | Error, nowMs: number): BackupEntry {
  const base = { name, path, bytes: st.size };
  if (head instanceof Error)
    return {
      ...base,
      createdAt: new Date(st.mtimeMs).toISOString(),
      atollVersion: null,
      problem: head.message,
      incomplete: null,
    };
  const { manifest: m, bytes } = head;
  const createdMs = Date.parse(m.createdAt);
  const problem = problemOf(bytes, st.size, createdMs, nowMs);
  return {
    ...base,
    createdAt: new Date(problem ? st.mtimeMs : Math.min(createdMs, st.mtimeMs)).toISOString(),
    atollVersion: m.atollVersion,
    problem,
    incomplete: typeof m.incomplete === 'string' ? m.incomplete.slice(0, 1000) : null,
  };
}

const archiveNames = (names: string[]): string[] =>
  names.filter((n) => n.endsWith(ARCHIVE_SUFFIX) && !n.startsWith('.')).slice(0, MAX_LISTED);
const newestFirst = (out: BackupEntry[]): BackupEntry[] => out.sort((a, b) => b.createdAt.localeCompare(a.createdAt));

/**
 * The archives in `dir`, newest first. The folder is read off the event loop: every hub computes the
 * backup age from it, and a slow or stalled shared mount holds a pool thread, not the hub.
 */
export async function listBackups(dir: string, nowMs = Date.now()): Promise<BackupEntry[]> {
  let names: string[];
  try {
    names = archiveNames(await readdir(dir));
  } catch {
    return [];
  }
  const out: BackupEntry[] = [];
  for (const name of names) {
    const path = join(dir, name);
    try {
      const st = await stat(path);
      if (!st.isFile()) continue;
      const head = await readManifestHead(path).catch((err: unknown) => err as Error);
      out.push(entryOf(name, path, st, head, nowMs));
    } catch {
      // removed meanwhile
    }
  }
  return newestFirst(out);
}

function readsBack(path: string, macKey: Buffer | undefined): boolean {
  try {
    const a = readArchive(path);
    if (macKey) verifyArchive(path, a, macKey, false);
    return true;
  } catch {
    return false;
  }
}

/**
 * Removes all but the newest `keep` good archives (and no damaged one: an operator looks at those). It
 * never removes the newest one that reads back whole (signed with `macKey`, when given), wherever it
 * sorts, nor the newest complete one that does: archives made while k3s was down (no Kubernetes
 * objects) do not push out the last one that has them.
 */
export async function pruneBackups(dir: string, keep: number, macKey?: Buffer): Promise<string[]> {
  const good = (await listBackups(dir)).filter((b) => b.problem === null);
  const verified = good.find((b) => readsBack(b.path, macKey));
  const complete =
    verified && verified.incomplete === null
      ? verified
      : good.find((b) => b.incomplete === null && readsBack(b.path, macKey));
  const removed: string[] = [];
  for (const b of good.slice(keep)) {
    if (b === verified || b === complete) continue;
    rmSync(b.path, { force: true });
    removed.push(b.name);
  }
  return removed;
}

/** Leftovers of a backup cut off midway are this old before they are swept (no backup runs this long). */
export const STALE_TEMP_MS = 24 * 3_600_000;

/**
 * The folder's own clock: the time a file made there now gets (on a shared mount, the file server's),
 * so ages are measured on the clock that stamped the files, whatever this host's says. undefined when no
 * file can be made there.
 */
function folderNowMs(dir: string): number | undefined {
  const probe = join(dir, `.atoll-clock-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    writeFileSync(probe, '', { flag: 'wx', mode: 0o600 });
    return statSync(probe).mtimeMs;
  } catch {
    return undefined;
  } finally {
    rmSync(probe, { force: true });
  }
}

/**
 * Removes what a backup killed midway left in `dir` (its `.backup-work-*` folder, its `.<archive>.<pid>.tmp`
 * file) once older than STALE_TEMP_MS: in a folder several hubs share, a younger one may be another
 * hub's backup in flight. Only those two name shapes are touched. Ages are measured on the folder's
 * clock unless `nowMs` is given (a hub whose clock runs a day ahead must not sweep a backup in flight).
 * Returns the names removed.
 */
export function sweepStaleTemps(dir: string, nowMs?: number): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const now = nowMs ?? folderNowMs(dir);
  if (now === undefined) return [];
  const removed: string[] = [];
  for (const name of names.slice(0, MAX_LISTED)) {
    const workDir = /^\.backup-work-[A-Za-z0-9]+$/.test(name);
    const tmpFile =
      name.startsWith('.') && /\.\d+\.tmp$/.test(name) && name.replace(/\.\d+\.tmp$/, '').endsWith(ARCHIVE_SUFFIX);
    const ours = workDir || tmpFile;
    if (!ours) continue;
    try {
      if (now - statSync(join(dir, name)).mtimeMs < STALE_TEMP_MS) continue;
      rmSync(join(dir, name), { recursive: true, force: true });
      removed.push(name);
    } catch {
      // gone already, or not ours to remove: left as it is
    }
  }
  return removed;
}
