// The active alerts (GET /v1/alerts): every source's problems now, made the stored set in one store
// transaction (syncAlerts), which keeps each alert's first-seen time stable across calls, restarts
// and hubs, and says what was raised and resolved. Evaluated on a timer and on demand (a read of
// the API); concurrent evaluations share one. Listeners (the webhook and JSON-lines sinks) hear
// each raise and resolve.
import type { Store } from '../store/types.js';
import type { Logger } from '../logger.js';
import { logFailure } from '../../certs/log-failure.js';
import { alertKind, type AlertInput, type AlertRecord, type AlertSource } from './alert-source.js';

export type AlertChange = { state: 'raised' | 'resolved'; alert: AlertRecord; at: string };

export interface AlertServiceDeps {
  store: Pick<Store, 'syncAlerts'>;
  sources: readonly AlertSource[];
  logger: Logger;
  /** Wall time (ms). */
  now: () => number;
  intervalMs: number;
  /** A result younger than this is served as is (default 1 s). */
  freshMs?: number;
}

const ORDER = { critical: 0, warning: 1, info: 2 } as const;

export function sortAlerts(list: AlertRecord[]): AlertRecord[] {
  return list.sort(
    (a, b) => ORDER[a.severity] - ORDER[b.severity] || a.since.localeCompare(b.since) || (a.id < b.id ? -1 : 1),
  );
}

export class AlertService {
  private timer?: NodeJS.Timeout;
  private running?: { gen: number; done: Promise<AlertRecord[]> };
  private last: { at: number; gen: number; alerts: AlertRecord[] } | undefined;
  /** Bumped by changed(): a result (or a pass) from before it is stale for readers after it. */
  private gen = 0;
  /** Each source's alerts at its last good collect: kept while it fails. */
  private readonly lastBySource = new Map<string, AlertInput[]>();
  private readonly listeners = new Set<(c: AlertChange) => void>();

  constructor(private readonly d: AlertServiceDeps) {}

  start(): void {
    this.timer = setInterval(() => this.kick(), this.d.intervalMs);
    this.timer.unref();
    this.kick();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  onChange(listener: (c: AlertChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The active alerts, worst first then oldest first (evaluated now unless a result is fresh). */
  async list(): Promise<AlertRecord[]> {
    const fresh = this.d.freshMs ?? 1000;
    if (this.last && this.last.gen === this.gen && this.d.now() - this.last.at < fresh) return this.last.alerts;
    return this.evaluate();
  }

  /**
   * State changed (an event was recorded: a dismissed rollout, a node removed): the next read
   * evaluates again instead of serving a result, or joining a pass, from before the change.
   */
  changed(): void {
    this.gen++;
  }

  /** Active alerts per kind and severity at the last evaluation (for the metric). */
  counts(): Array<{ kind: string; severity: string; count: number }> {
    const m = new Map<string, { kind: string; severity: string; count: number }>();
    for (const a of this.last?.alerts ?? []) {
      const kind = alertKind(a.id);
      const key = `${kind}\u0000${a.severity}`;
      const e = m.get(key) ?? { kind, severity: a.severity, count: 0 };
      e.count++;
      m.set(key, e);
    }
    return [...m.values()];
  }

  /** One evaluation (shared by concurrent callers). */
  evaluate(): Promise<AlertRecord[]> {
    const gen = this.gen;
    if (this.running?.gen === gen) return this.running.done;
    // A pass from before a change may still be running: the new one starts after it (one at a time).
    const before = this.running?.done.catch(() => undefined);
    const done = (before ?? Promise.resolve())
      .then(() => this.pass(gen))
      .finally(() => {
        if (this.running?.done === done) this.running = undefined;
      });
    this.running = { gen, done };
    return done;
  }

  private kick(): void {
    this.evaluate().catch(logFailure(this.d.logger, 'evaluating alerts'));
  }

  private async pass(gen: number): Promise<AlertRecord[]> {
    const now = this.d.now();
    const active: AlertInput[] = [];
    for (const s of this.d.sources) {
      try {
        const found = await s.collect(now);
        this.lastBySource.set(s.name, found);
        active.push(...found);
      } catch (err) {
        this.d.logger.warn({ source: s.name, err: (err as Error).message }, 'an alert source failed; its alerts stay');
        active.push(...(this.lastBySource.get(s.name) ?? []));
      }
    }
    const at = new Date(now).toISOString();
    const sync = await this.d.store.syncAlerts(active, at);
    const alerts = sortAlerts(sync.active);
    this.last = { at: now, gen, alerts };
    for (const alert of sync.raised) this.emit({ state: 'raised', alert, at });
    for (const alert of sync.resolved) this.emit({ state: 'resolved', alert, at });
    return alerts;
  }

  private emit(c: AlertChange): void {
    for (const l of this.listeners) {
      try {
        l(c);
      } catch (err) {
        this.d.logger.warn({ err: (err as Error).message }, 'an alert listener failed');
      }
    }
  }
}
