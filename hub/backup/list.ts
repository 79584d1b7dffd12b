// The archives in a backups folder, newest first, from their manifests (a damaged one is listed as
// such, never skipped silently); and pruning to the newest N.
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ARCHIVE_SUFFIX, readManifest } from './archive.js';

export interface BackupEntry {
  name: string;
  path: string;
  /** From the manifest; the file's mtime when the manifest is unreadable. */
  createdAt: string;
  bytes: number;
  atollVersion: string | null;
  /** Why the manifest is unreadable; null for a good one. */
  problem: string | null;
}

/** At most this many archives are looked at in one folder. */
const MAX_LISTED = 10_000;

export function listBackups(dir: string): BackupEntry[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(ARCHIVE_SUFFIX) && !n.startsWith('.'));
  } catch {
    return [];
  }
  const out: BackupEntry[] = [];
  for (const name of names.slice(0, MAX_LISTED)) {
    const path = join(dir, name);
    try {
      const st = statSync(path);
      if (!st.isFile()) continue;
      try {
        const m = readManifest(path);
        out.push({ name, path, createdAt: m.createdAt, bytes: st.size, atollVersion: m.atollVersion, problem: null });
      } catch (err) {
        out.push({
          name,
          path,
          createdAt: st.mtime.toISOString(),
          bytes: st.size,
          atollVersion: null,
          problem: (err as Error).message,
        });
      }
    } catch {
      // removed meanwhile
    }
  }
  return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

/** Removes all but the newest `keep` good archives (and no damaged one: an operator looks at those). */
export function pruneBackups(dir: string, keep: number): string[] {
  const good = listBackups(dir).filter((b) => b.problem === null);
  const removed: string[] = [];
  for (const b of good.slice(keep)) {
    rmSync(b.path, { force: true });
    removed.push(b.name);
  }
  return removed;
}
