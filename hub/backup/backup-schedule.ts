// Scheduled backups in `atoll-hub run` (--backup-interval, --backup-keep): one archive per interval
// into <data-dir>/backups, older ones pruned after a good one, a backup.created (or backup.failed)
// event each time; the age of the newest good archive as a metric and, when it is older than two
// intervals, the `backup-too-old` alert. The age counts any good archive in that folder, also one
// made by `atoll-hub backup create`.
import { Gauge, type Registry } from 'prom-client';
import type { EventLog } from '../events.js';
import type { Logger } from '../logger.js';
import type { AlertSource } from '../alerts/alert-source.js';
import { relative } from '../alerts/alert-source.js';
import type { BackupConfig } from './backup-config.js';
import { backupsDir, createBackup, type BackupSource } from './create.js';
import { listBackups, pruneBackups } from './list.js';
import { readPassphraseFile } from './passphrase.js';
import { archiveMacKey } from './archive.js';
import { readClusterSecret } from '../pki/cluster-secret.js';

export interface BackupScheduleDeps {
  source: BackupSource;
  config: BackupConfig;
  events: EventLog;
  logger: Logger;
  /** Wall time (ms). */
  now: () => number;
}

export class BackupSchedule {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly startedMs: number;

  constructor(private readonly d: BackupScheduleDeps) {
    this.startedMs = d.now();
  }

  /** When the newest good archive in the backups folder was made (ms), or null. */
  lastGoodMs(): number | null {
    const good = listBackups(backupsDir(this.d.source.dataDir), this.d.now()).find((b) => b.problem === null);
    return good ? Date.parse(good.createdAt) : null;
  }

  start(): void {
    if (this.d.config.intervalMs <= 0 || this.timer) return;
    this.timer = setInterval(() => {
      this.runOnce().catch(() => undefined); // backup() logs its own failures
    }, this.d.config.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One backup now (never two at once), then pruning; failures are events and logs, never thrown. */
  runOnce(): Promise<void> {
    this.running ??= this.backup().finally(() => (this.running = undefined));
    return this.running;
  }

  private async backup(): Promise<void> {
    const { config, source, events, logger } = this.d;
    try {
      const passphrase = config.passphraseFile ? readPassphraseFile(config.passphraseFile) : undefined;
      const r = await createBackup({ ...source, passphrase, now: new Date(this.d.now()) });
      const macKey = archiveMacKey(readClusterSecret(source.clusterSecretFile).secret);
      const pruned = pruneBackups(backupsDir(source.dataDir), config.keep, macKey);
      logger.info({ file: r.path, bytes: r.bytes, ms: r.ms, pruned }, 'scheduled backup written');
      await events.note({
        type: 'backup.created',
        actor: 'hub',
        message: `scheduled backup ${r.path} (${r.bytes} bytes, ${r.ms} ms)${pruned.length ? `; pruned ${pruned.length} older` : ''}`,
        data: { file: r.path, bytes: r.bytes, ms: r.ms, pruned, secrets: r.manifest.secrets },
      });
    } catch (err) {
      logger.error({ err }, 'scheduled backup failed');
      await events.note({
        type: 'backup.failed',
        actor: 'hub',
        message: `scheduled backup failed: ${(err as Error).message}`,
      });
    }
  }

  alertSource(): AlertSource {
    return {
      name: 'backup',
      collect: (nowMs) => {
        const every = this.d.config.intervalMs;
        if (every <= 0) return [];
        const last = this.lastGoodMs();
        const since = last ?? this.startedMs;
        if (nowMs - since <= 2 * every) return [];
        return [
          {
            id: 'backup-too-old',
            severity: 'warning',
            message:
              last === null
                ? `no good backup in ${backupsDir(this.d.source.dataDir)} since the hub started ${relative(since - nowMs)}`
                : `the last good backup is from ${new Date(last).toISOString()} (${relative(last - nowMs)}), more than two backup intervals`,
            link: '#/cluster',
          },
        ];
      },
    };
  }

  registerMetrics(registry: Registry): void {
    const age = (): number | null => {
      const last = this.lastGoodMs();
      return last === null ? null : Math.max(0, (this.d.now() - last) / 1000);
    };
    new Gauge({
      name: 'atoll_hub_backup_last_success_age_seconds',
      help: 'Seconds since the newest good backup archive in <data-dir>/backups was made. Absent when there is none.',
      registers: [registry],
      collect() {
        this.reset();
        const a = age();
        if (a !== null) this.set(a);
      },
    });
  }
}
