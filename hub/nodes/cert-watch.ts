// Watches node certificates over time. A live link whose certificate has expired is closed (the TLS
// check happens only when a connection opens; the agent then recovers over HTTPS). A node whose
// current certificate is within the warning window of its expiry, i.e. renewal has not happened,
// gets one `cert.expiring` event per certificate; the API's node view shows it too.
import type { CurrentCert, Store } from '../store/types.js';
import type { EventLog } from '../events.js';
import type { Logger } from '../logger.js';
import { logFailure } from '../../certs/log-failure.js';
import type { NodeRegistry } from './registry.js';

export interface CertWatchOptions {
  store: Store;
  registry: NodeRegistry;
  events: EventLog;
  logger: Logger;
  /** Warn when the current certificate expires within this (default: 7 days, or a quarter of the lifetime when shorter). */
  warnBeforeMs: number;
  intervalMs: number;
  now?: () => number;
}

export interface NodeCertStatus {
  serial: string;
  notAfter: string;
  expiresInSeconds: number;
  /** Within the warning window (or expired): renewal has not happened. */
  expiring: boolean;
}

export class CertWatch {
  private current = new Map<string, CurrentCert>();
  /** Node id -> serial already warned about (one event per certificate). */
  private readonly warned = new Map<string, string>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private readonly now: () => number;

  constructor(private readonly opts: CertWatchOptions) {
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    this.timer = setInterval(
      () => this.tick().catch(logFailure(this.opts.logger, 'watching certificate expiry')),
      this.opts.intervalMs,
    );
    this.timer.unref();
    this.tick().catch(logFailure(this.opts.logger, 'watching certificate expiry'));
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One pass; never throws, never overlaps. */
  tick(): Promise<void> {
    this.running ??= this.pass()
      .catch((err: unknown) => {
        this.opts.logger.warn({ err: (err as Error).message }, 'certificate watch failed');
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  status(nodeId: string): NodeCertStatus | null {
    const c = this.current.get(nodeId);
    if (!c) return null;
    const left = Date.parse(c.notAfter) - this.now();
    return {
      serial: c.serial,
      notAfter: c.notAfter,
      expiresInSeconds: Math.floor(left / 1000),
      expiring: left <= this.opts.warnBeforeMs,
    };
  }

  private async pass(): Promise<void> {
    const now = this.now();
    for (const link of this.opts.registry.links()) {
      if (link.certNotAfterMs !== undefined && link.certNotAfterMs <= now) {
        link.close(
          'CERT_EXPIRED',
          `the client certificate of this link expired at ${new Date(link.certNotAfterMs).toISOString()}; reconnect with a renewed one`,
        );
      }
    }
    const list = await this.opts.store.currentCerts();
    this.current = new Map(list.map((c) => [c.nodeId, c]));
    for (const id of this.warned.keys()) if (!this.current.has(id)) this.warned.delete(id);
    for (const c of list) {
      const left = Date.parse(c.notAfter) - now;
      if (left > this.opts.warnBeforeMs || this.warned.get(c.nodeId) === c.serial) continue;
      const node = this.opts.registry.snapshotOf(c.nodeId);
      if (!node) continue;
      this.warned.set(c.nodeId, c.serial);
      const when = left > 0 ? `expires at ${c.notAfter} (in ${humanize(left)})` : `expired at ${c.notAfter}`;
      await this.opts.events.note({
        type: 'cert.expiring',
        nodeId: c.nodeId,
        pool: node.pool,
        actor: 'hub',
        message: `client certificate of node ${node.name} ${when} and has not been renewed`,
        data: { serial: c.serial, notAfter: c.notAfter, connected: node.connected },
      });
    }
  }
}

function humanize(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

/** Default warning window: 7 days, or a quarter of the certificate lifetime when that is shorter. */
export function defaultWarnBeforeMs(ttlMs: number): number {
  return Math.min(7 * 24 * 3600_000, ttlMs / 4);
}
