// A small tmpfs for disk-full tests: mounted under a temp dir, filled to ENOSPC, unmounted (also at
// process exit). Needs root.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Tmpfs {
  /** The temp dir holding the mount point (remove it after unmount()). */
  work: string;
  mnt: string;
  unmount(): void;
}

export function mountTmpfs(size: string, prefix = 'atoll-tmpfs-'): Tmpfs {
  const work = mkdtempSync(join(tmpdir(), prefix));
  const mnt = join(work, 'mnt');
  mkdirSync(mnt);
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', mnt], { encoding: 'utf8' });
  if (m.status !== 0) throw new Error(`mount tmpfs: ${m.stderr}`);
  let mounted = true;
  const unmount = (): void => {
    if (!mounted) return;
    if (spawnSync('umount', [mnt]).status !== 0) spawnSync('umount', ['-l', mnt]);
    mounted = false;
  };
  process.once('exit', unmount);
  return { work, mnt, unmount };
}

/** Writes zeros until the file system says ENOSPC (bounded by `maxBytes`); returns the bytes written. */
export function fill(path: string, maxBytes: number): number {
  const fd = openSync(path, 'a');
  let written = 0;
  try {
    for (const size of [1 << 20, 4096, 512, 1]) {
      const chunk = Buffer.alloc(size);
      for (let i = 0; written < maxBytes && i < maxBytes / size + 1; i++) {
        try {
          written += writeSync(fd, chunk);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}
