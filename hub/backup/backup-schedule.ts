// Scheduled backups in `atoll-hub run` (--backup-interval, --backup-keep, --backup-dir): one archive
// per interval into the backup folder, older ones pruned after a good one, a backup.created (or
// backup.failed) event each time; the age of the newest good backup as a metric and, when it is older
// than two intervals, the `backup-too-old` alert. The age counts any good archive in that folder (complete:
// one made while k3s was down lacks the Kubernetes objects and does not count), also
// one made by `atoll-hub backup create`, and on PostgreSQL the newest backup.created event of any hub
// (last-good.ts), so every hub reports the same age.
// The schedule runs on the leader of the `backups` role only (start on gaining it, stop on losing it:
// a backup in flight is awaited). On PostgreSQL a new leader makes the next backup one interval after
// the newest good one (at once when that is overdue); on SQLite the first comes one interval after start.
// An archive is written under a temp name and renamed (archive.ts): a leader that dies mid-backup
// leaves no half archive, only a dot-named temp file that listing and pruning ignore.
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Gauge, type Registry } from 'prom-client';
import type { EventLog } from '../events.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/types.js';
import type { AlertSource } from '../alerts/alert-source.js';
import { relative } from '../alerts/alert-source.js';
import type { BackupConfig } from './backup-config.js';
import { createBackup, defaultArchiveName, type BackupSource } from './create.js';
import { pruneBackups, sweepStaleTemps } from './list.js';
import { readPassphraseFile } from './passphrase.js';
import { archiveMacKey } from './archive.js';
import { readClusterSecret } from '../pki/cluster-secret.js';
import { lastGoodReader } from './last-good.js';
import { logFailure } from '../../certs/log-failure.js';
import { waitAtMost } from '../../certs/wait-at-most.js';

/** How long a stopping hub waits for a backup in flight. */
export const STOP_WAIT_MS = 30_000;

export interface BackupScheduleDeps {
  source: BackupSource;
  config: BackupConfig;
  events: EventLog;
  logger: Logger;
  /** Wall time (ms). */
  now: () => number;
  /** PostgreSQL: the shared store, whose backup.created events count for every hub. */
  shared?: Pick<Store, 'listEvents'>;
  /** Named in the backup.created event (which hub wrote the archive). */
  hubId?: string;
}

export class BackupSchedule {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** Bumped by every start and stop: a timer or a first-delay read of an older epoch does nothing. */
  private epoch = 0;
  private on = false;
  private readonly startedMs: number;
  /** When the newest good backup was made (ms), or null. */
  readonly lastGoodMs: () => Promise<number | null>;

  constructor(private readonly d: BackupScheduleDeps) {
    this.startedMs = d.now();
    this.lastGoodMs = lastGoodReader({ dir: d.config.dir, shared: d.shared, now: d.now });
  }

  /** Starts the schedule (this hub leads `backups`); resolves once the first backup is timed. */
  async start(): Promise<void> {
    if (this.d.config.intervalMs <= 0 || this.on) return;
    this.on = true;
    const epoch = ++this.epoch;
    const delay = await this.firstDelayMs();
    if (epoch === this.epoch) this.arm(delay, epoch);
  }

  /**
   * Stops the schedule; resolves once a backup in flight has ended, but waits at most STOP_WAIT_MS (a
   * wedged k3s must not hold up the hub's shutdown), and not at all when `wait` is false (the role
   * moved to another hub: the backup, read-only, finishes by itself and role changes go on at once).
   */
  async stop(opts: { wait?: boolean } = {}): Promise<void> {
    this.on = false;
    this.epoch++;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (opts.wait === false || !this.running) return;
    if (!(await waitAtMost(this.running, STOP_WAIT_MS)))
      this.d.logger.warn({ waitedMs: STOP_WAIT_MS }, 'stopping without waiting longer for the backup in flight');
  }

  /** One backup now (never two at once), then pruning; failures are events and logs, never thrown. */
  runOnce(): Promise<void> {
    this.running ??= this.backup().finally(() => (this.running = undefined));
    return this.running;
  }

  private async firstDelayMs(): Promise<number> {
    const every = this.d.config.intervalMs;
    if (!this.d.shared) return every;
    const last = await this.lastGoodMs().catch(() => null);
    return last === null ? every : Math.min(every, Math.max(0, last + every - this.d.now()));
  }

  private arm(delayMs: number, epoch: number): void {
    this.timer = setTimeout(() => {
      const began = performance.now();
      this.runOnce()
        .then(() => {
          if (epoch === this.epoch)
            this.arm(Math.max(0, this.d.config.intervalMs - (performance.now() - began)), epoch);
        })
        .catch(logFailure(this.d.logger, 'scheduling the next backup'));
    }, delayMs);
    this.timer.unref();
  }

  private async backup(): Promise<void> {
    const { config, source, events, logger } = this.d;
    try {
      const passphrase = config.passphraseFile ? readPassphraseFile(config.passphraseFile) : undefined;
      const now = new Date(this.d.now());
      const out = join(config.dir, defaultArchiveName(now));
      const r = await createBackup({ ...source, out, passphrase, now });
      const macKey = archiveMacKey(readClusterSecret(source.clusterSecretFile).secret);
      const pruned = await pruneBackups(config.dir, config.keep, macKey);
      const swept = sweepStaleTemps(config.dir); // on the folder's clock, not this hub's
      for (const w of r.warnings) logger.warn({ file: r.path }, w);
      logger.info({ file: r.path, bytes: r.bytes, ms: r.ms, pruned, swept }, 'scheduled backup written');
      await events.note({
        type: 'backup.created',
        actor: 'hub',
        message: `scheduled backup ${r.path} (${r.bytes} bytes, ${r.ms} ms)${pruned.length ? `; pruned ${pruned.length} older` : ''}${r.warnings.map((w) => `; ${w}`).join('')}`,
        data: {
          ...{ file: r.path, bytes: r.bytes, ms: r.ms, pruned, secrets: r.manifest.secrets },
          ...{ createdAt: r.manifest.createdAt, hub: this.d.hubId ?? null, incomplete: r.manifest.incomplete ?? null },
        },
      });
    } catch (err) {
      logger.error({ err }, 'scheduled backup failed');
      await events.note({
        type: 'backup.failed',
        actor: 'hub',
        message: `scheduled backup failed: ${(err as Error).message}`,
        data: { hub: this.d.hubId ?? null },
      });
    }
  }

  alertSource(): AlertSource {
    return {
      name: 'backup',
      collect: async (nowMs) => {
        const every = this.d.config.intervalMs;
        if (every <= 0) return [];
        const last = await this.lastGoodMs();
        const since = last ?? this.startedMs;
        if (nowMs - since <= 2 * every) return [];
        return [
          {
            id: 'backup-too-old',
            severity: 'warning',
            message:
              last === null
                ? `no good backup in ${this.d.config.dir} since the hub started ${relative(since - nowMs)}`
                : `the last good backup is from ${new Date(last).toISOString()} (${relative(last - nowMs)}), more than two backup intervals`,
            link: '#/cluster',
          },
        ];
      },
    };
  }

  registerMetrics(registry: Registry): void {
    const age = async (): Promise<number | null> => {
      const last = await this.lastGoodMs();
      return last === null ? null : Math.max(0, (this.d.now() - last) / 1000);
    };
    new Gauge({
      name: 'atoll_hub_backup_last_success_age_seconds',
      help: 'Seconds since the newest good backup was made: in the backup folder, or (PostgreSQL) by any hub. Absent when there is none.',
      registers: [registry],
      async collect() {
        this.reset(); // sets an unlabelled gauge to 0: remove() makes it absent, as the help says
        const a = await age();
        if (a !== null) this.set(a);
        else this.remove();
      },
    });
  }
}
