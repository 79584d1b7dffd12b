// File helpers of backups and restores.
import { readdirSync, rmSync, statSync } from 'node:fs';

/** Removes a work dir this module made itself (never a caller's folder). */
export function removeQuietly(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch {
    // best effort: a leftover temp dir is named .backup-work-* / .restore-*
  }
}

/** Whether `dir` is missing or an empty directory. */
export function isEmptyDir(dir: string): boolean {
  try {
    if (!statSync(dir).isDirectory()) return false;
  } catch {
    return true;
  }
  return readdirSync(dir).length === 0;
}
