// The flags of scheduled backups on `atoll-hub run`: off unless --backup-interval is given.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../errors.js';
import { duration, optionalCount } from '../config-values.js';
import type { DatastoreSpec } from '../store/datastore-url.js';
import { readPassphraseFile } from './passphrase.js';

export interface BackupFlags {
  backupInterval?: string;
  backupKeep?: string;
  backupPassphraseFile?: string;
}

export interface BackupConfig {
  /** 0: no scheduled backups. */
  readonly intervalMs: number;
  /** Archives kept in <data-dir>/backups (older ones pruned after each good backup). */
  readonly keep: number;
  /** Seals the cluster secret into each archive; without it the operator keeps the cluster secret. */
  readonly passphraseFile: string | null;
}

export const BACKUP_DEFAULTS = Object.freeze({ backupInterval: 'off', backupKeep: '7' });
/** A backup copies the whole store: not more often than this. */
const MIN_INTERVAL_MS = 60_000;

export function addBackupOptions(cmd: Command): Command {
  return cmd
    .option(
      '--backup-interval <dur>',
      `write a backup to <data-dir>/backups this often, e.g. 6h, or off (env ATOLL_BACKUP_INTERVAL; default ${BACKUP_DEFAULTS.backupInterval})`,
    )
    .option(
      '--backup-keep <n>',
      `keep this many scheduled backups, pruning older ones (env ATOLL_BACKUP_KEEP; default ${BACKUP_DEFAULTS.backupKeep})`,
    )
    .option(
      '--backup-passphrase-file <file>',
      'seal the cluster secret into scheduled backups with the passphrase in this file (env ATOLL_BACKUP_PASSPHRASE_FILE)',
    );
}

export function parseBackupConfig(flags: BackupFlags, env: NodeJS.ProcessEnv, datastore: DatastoreSpec): BackupConfig {
  const interval = flags.backupInterval ?? env.ATOLL_BACKUP_INTERVAL ?? BACKUP_DEFAULTS.backupInterval;
  const intervalMs = /^(off|0)$/i.test(interval.trim()) ? 0 : duration(interval, '--backup-interval');
  // Tests run the schedule faster (as other intervals' test knobs).
  const min = Number(env.ATOLL_TEST_MIN_BACKUP_INTERVAL_MS) || MIN_INTERVAL_MS;
  if (intervalMs > 0 && intervalMs < min) throw new ConfigError(`--backup-interval must be off or at least 1m`);
  if (intervalMs > 0 && datastore.kind === 'postgres')
    throw new ConfigError(
      '--backup-interval: on PostgreSQL use its own backups (pg_dump), or `atoll-hub backup create` (safe beside the running hubs) from cron',
    );
  const keep = optionalCount(flags.backupKeep ?? env.ATOLL_BACKUP_KEEP ?? BACKUP_DEFAULTS.backupKeep, '--backup-keep')!;
  const file = flags.backupPassphraseFile ?? env.ATOLL_BACKUP_PASSPHRASE_FILE;
  if (file) readPassphraseFile(resolve(file));
  return Object.freeze({ intervalMs, keep, passphraseFile: file ? resolve(file) : null });
}
