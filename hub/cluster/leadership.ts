// One leader per singleton role among the hubs on one database (cluster-types.ts leases). Every
// renewMs this hub renews the roles it holds and tries to take the others. It leads a role only
// while its lease is surely valid: until (the monotonic time the renewal was sent) + ttl - margin, so
// a hub that was paused or cut off stops acting at its next check, before anyone else can take over.
// Its writes in that role carry the fence (fence()), which the store refuses once the term moved on.
// With SQLite there is one hub: alwaysLeader() leads every role and fences nothing.
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { StoreError, type LeaseFence, type Store } from '../store/types.js';
import { leaseLost } from '../store/sqlite-cluster.js';
import { logFailure } from '../../certs/log-failure.js';

export const ROLES = [
  'autoheal',
  'upgrades',
  'purges',
  'event-retention',
  'support-watch',
  'lifespan',
  'autoscale',
  'backups',
] as const;
export type Role = (typeof ROLES)[number];

export interface Leadership {
  leads(role: Role): boolean;
  /** The roles led now. */
  led(): Role[];
  /** The fence for a write in `role`; undefined when nothing is fenced (SQLite). Throws LEASE_LOST when not leading. */
  fence(role: Role): LeaseFence | undefined;
  /** Called on every change (gained or lost), in order; an error is logged. */
  onChange(fn: (role: Role, leading: boolean) => Promise<void> | void): void;
  start(): Promise<void>;
  /** Stops renewing and gives the leases up. */
  stop(): Promise<void>;
}

type Listener = (role: Role, leading: boolean) => Promise<void> | void;

export function alwaysLeader(): Leadership {
  const listeners: Listener[] = [];
  return {
    leads: () => true,
    led: () => [...ROLES],
    fence: () => undefined,
    onChange: (fn) => void listeners.push(fn),
    async start() {
      for (const role of ROLES) for (const fn of listeners) await fn(role, true);
    },
    // Stopping gives every role up: its singletons stop (as HubCluster.stop says), also on SQLite.
    async stop() {
      for (const role of ROLES) for (const fn of listeners) await fn(role, false);
    },
  };
}

export interface LeaseDeps {
  store: Pick<Store, 'tryAcquireLease' | 'renewLease' | 'releaseLease'>;
  hubId: string;
  clock: Clock;
  logger: Logger;
  ttlMs?: number;
  renewMs?: number;
  /** The roles this hub takes (default all): a hub with scheduled backups off leaves `backups` to others. */
  roles?: readonly Role[];
}

export const LEASE_TTL_MS = 10_000;
export const LEASE_RENEW_MS = 3_000;

interface Held {
  term: number;
  until: number;
}

export function leaseLeadership(d: LeaseDeps): Leadership {
  const ttl = d.ttlMs ?? LEASE_TTL_MS;
  const renewMs = d.renewMs ?? LEASE_RENEW_MS;
  const roles = d.roles ?? ROLES;
  // A renewal proves the lease from when it was sent; keep a margin for the round trip and timers.
  const margin = Math.min(2000, ttl / 5);
  const held = new Map<Role, Held>();
  const listeners: Listener[] = [];
  let changes: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let watch: NodeJS.Timeout | undefined;
  let busy = false;

  const notify = (role: Role, leading: boolean) => {
    d.logger.info({ role, leading, hubId: d.hubId }, leading ? 'leading a role' : 'no longer leading a role');
    changes = changes.then(async () => {
      for (const fn of listeners)
        await Promise.resolve(fn(role, leading)).catch((err: unknown) =>
          d.logger.error({ err, role, leading }, 'acting on a leadership change failed'),
        );
    });
  };
  const valid = (role: Role): Held | undefined => {
    const h = held.get(role);
    if (h && d.clock.mono() < h.until) return h;
    if (h) {
      held.delete(role);
      notify(role, false);
    }
    return undefined;
  };

  const round = async () => {
    if (busy) return;
    busy = true;
    try {
      for (const role of roles) {
        const sent = d.clock.mono();
        const h = valid(role);
        try {
          if (h) {
            if (await d.store.renewLease(role, d.hubId, h.term, ttl)) h.until = sent + ttl - margin;
            else if (held.delete(role)) notify(role, false);
          } else {
            const got = await d.store.tryAcquireLease(role, d.hubId, ttl);
            if (got) {
              held.set(role, { term: got.term, until: sent + ttl - margin });
              notify(role, true);
            }
          }
        } catch (err) {
          d.logger.warn({ err: (err as Error).message, role }, 'the lease could not be renewed or taken');
        }
      }
    } finally {
      busy = false;
    }
  };

  return {
    leads: (role) => valid(role) !== undefined,
    led: () => roles.filter((r) => valid(r) !== undefined),
    fence(role) {
      const h = valid(role);
      if (!h) throw leaseLost({ role, holder: d.hubId, term: held.get(role)?.term ?? 0 });
      return { role, holder: d.hubId, term: h.term };
    },
    onChange: (fn) => void listeners.push(fn),
    async start() {
      await round();
      timer = setInterval(() => round().catch(logFailure(d.logger, 'the lease round')), renewMs);
      timer.unref();
      // Loses a role as soon as its lease may have expired (a pause, a database that stopped answering).
      watch = setInterval(() => roles.forEach(valid), 250);
      watch.unref();
      await changes;
    },
    async stop() {
      clearInterval(timer);
      clearInterval(watch);
      for (const [role, h] of [...held]) {
        held.delete(role);
        notify(role, false);
        await d.store.releaseLease(role, d.hubId, h.term).catch(() => undefined);
      }
      await changes;
    },
  };
}

export const isLeaseLost = (err: unknown): boolean => err instanceof StoreError && err.code === 'LEASE_LOST';
