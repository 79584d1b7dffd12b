// The flags of scheduled backups on `atoll-hub run`: off unless --backup-interval is given. On
// PostgreSQL the hub leading the `backups` role (hub/cluster/leadership.ts) writes them; --backup-dir
// points every hub at one shared folder (an NFS mount) so that any leader writes and prunes there.
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../errors.js';
import { duration, optionalCount } from '../config-values.js';
import { readPassphraseFile } from './passphrase.js';
import { backupsDir } from './create.js';

export interface BackupFlags {
  backupInterval?: string;
  backupKeep?: string;
  backupPassphraseFile?: string;
  backupDir?: string;
}

export interface BackupConfig {
  /** 0: no scheduled backups. */
  readonly intervalMs: number;
  /** Archives kept in `dir` (older ones pruned after each good backup). */
  readonly keep: number;
  /** Seals the cluster secret into each archive; without it the operator keeps the cluster secret. */
  readonly passphraseFile: string | null;
  /** Where scheduled archives go and are pruned (--backup-dir; default <data-dir>/backups). */
  readonly dir: string;
}

export const BACKUP_DEFAULTS = Object.freeze({ backupInterval: 'off', backupKeep: '7' });
/** A backup copies the whole store: not more often than this. */
const MIN_INTERVAL_MS = 60_000;

export const BACKUP_DIR_HELP =
  'the folder of backup archives, e.g. shared storage all hubs mount (env ATOLL_BACKUP_DIR; default <data-dir>/backups)';

export function addBackupOptions(cmd: Command): Command {
  return cmd
    .option(
      '--backup-interval <dur>',
      `write a backup to the backup dir this often, e.g. 6h, or off; on PostgreSQL one hub (the backups leader) writes them (env ATOLL_BACKUP_INTERVAL; default ${BACKUP_DEFAULTS.backupInterval})`,
    )
    .option(
      '--backup-keep <n>',
      `keep this many scheduled backups, pruning older ones (env ATOLL_BACKUP_KEEP; default ${BACKUP_DEFAULTS.backupKeep})`,
    )
    .option(
      '--backup-passphrase-file <file>',
      'seal the cluster secret into scheduled backups with the passphrase in this file (env ATOLL_BACKUP_PASSPHRASE_FILE)',
    )
    .option('--backup-dir <dir>', BACKUP_DIR_HELP);
}

/** --backup-dir / ATOLL_BACKUP_DIR, else <data-dir>/backups; a path that exists must be a folder. */
export function backupDirOf(flag: string | undefined, env: NodeJS.ProcessEnv, dataDir: string): string {
  const given = flag ?? env.ATOLL_BACKUP_DIR;
  if (given === undefined) return backupsDir(dataDir);
  if (given.trim() === '' || given.length > 4096) throw new ConfigError('--backup-dir: give a folder path');
  const dir = resolve(given);
  let isDir = true;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    // made at the first backup
  }
  if (!isDir) throw new ConfigError(`--backup-dir: ${dir} is not a folder`);
  return dir;
}

/** The same on SQLite and PostgreSQL (there the leader of the `backups` role is the one writer). */
export function parseBackupConfig(flags: BackupFlags, env: NodeJS.ProcessEnv, dataDir: string): BackupConfig {
  const interval = flags.backupInterval ?? env.ATOLL_BACKUP_INTERVAL ?? BACKUP_DEFAULTS.backupInterval;
  const intervalMs = /^(off|0)$/i.test(interval.trim()) ? 0 : duration(interval, '--backup-interval');
  // Tests run the schedule faster (as other intervals' test knobs).
  const min = Number(env.ATOLL_TEST_MIN_BACKUP_INTERVAL_MS) || MIN_INTERVAL_MS;
  if (intervalMs > 0 && intervalMs < min) throw new ConfigError(`--backup-interval must be off or at least 1m`);
  const keep = optionalCount(flags.backupKeep ?? env.ATOLL_BACKUP_KEEP ?? BACKUP_DEFAULTS.backupKeep, '--backup-keep')!;
  const file = flags.backupPassphraseFile ?? env.ATOLL_BACKUP_PASSPHRASE_FILE;
  if (file) readPassphraseFile(resolve(file));
  const dir = backupDirOf(flags.backupDir, env, dataDir);
  return Object.freeze({ intervalMs, keep, passphraseFile: file ? resolve(file) : null, dir });
}
