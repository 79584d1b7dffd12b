// The hub data dir: created 0700 on first start; refused when others may write to it or read its
// secrets, with the exact fix in the message.
import { chmodSync, existsSync, mkdirSync, statSync, readFileSync, accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ConfigError } from './errors.js';
import { HUB_DEFAULTS } from './config.js';
import { writeSecretFile, checkSecretFileMode } from '../certs/files.js';

/** What a user who may not write `dir` can do instead. */
export function dataDirAdvice(): string {
  return process.getuid?.() === 0
    ? 'fix its owner or mode, or pick another directory with --data-dir DIR (env ATOLL_DATA_DIR)'
    : `pick a directory you can write with --data-dir DIR (env ATOLL_DATA_DIR), or run as root (state then goes to ${HUB_DEFAULTS.dataDirAsRoot})`;
}

export function prepareDataDir(dir: string): void {
  if (!existsSync(dir)) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      chmodSync(dir, 0o700);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') throw err;
      throw new ConfigError(
        `cannot create the data dir ${dir}: ${code === 'EROFS' ? 'read-only file system' : 'permission denied'} (uid ${process.getuid?.() ?? '?'}); ${dataDirAdvice()}`,
      );
    }
  }
  const st = statSync(dir);
  if (!st.isDirectory()) throw new ConfigError(`data dir ${dir} is not a directory`);
  if (st.mode & 0o022) {
    throw new ConfigError(
      `data dir ${dir} has mode ${(st.mode & 0o777).toString(8)}: others may write to it; run: chmod 700 ${dir}`,
    );
  }
  try {
    accessSync(dir, constants.W_OK | constants.R_OK | constants.X_OK);
  } catch {
    throw new ConfigError(
      `data dir ${dir} is not writable by this user (uid ${process.getuid?.() ?? '?'}); ${dataDirAdvice()}`,
    );
  }
  for (const secret of ['ca.key', 'admin-token', 'serving.key', 'hub.db', 'tls-ticket-keys']) {
    const p = join(dir, secret);
    if (!existsSync(p)) continue;
    try {
      checkSecretFileMode(p);
    } catch (err) {
      throw new ConfigError((err as Error).message);
    }
  }
}

/** A new random admin token (192 bits). */
export function newAdminToken(): string {
  return `atoll_admin_${randomBytes(24).toString('base64url')}`;
}

/** The admin token: made at first start (0600), read on every later start. */
export function loadOrCreateAdminToken(dir: string): { token: string; path: string; created: boolean } {
  const path = join(dir, 'admin-token');
  if (existsSync(path)) {
    const token = readFileSync(path, 'utf8').trim();
    if (token.length < 32)
      throw new ConfigError(`${path} does not hold a valid admin token; delete it to make a new one`);
    return { token, path, created: false };
  }
  const token = newAdminToken();
  writeSecretFile(path, `${token}\n`);
  return { token, path, created: true };
}
