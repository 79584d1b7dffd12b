// Which pools an external autoscaler (cluster-autoscaler over the externalgrpc service) drives: one
// autoscaler per pool. Every call of the service that names a pool marks it; the mark holds for
// EXTERNAL_DRIVE_TTL_MS after the last such call, so a cluster-autoscaler that was switched off gives
// the pool back. The built-in autoscaler (hub/autoscale/) asks `externallyDriven` before it acts on
// a pool and steps aside while it is true. The marks live in the store (shared by the hubs of one
// datastore), as one setting: pool -> time of the last call.
import type { Store } from '../../store/types.js';

export const EXTERNAL_DRIVE_KEY = 'autoscale.external-drive';
/** cluster-autoscaler calls every --scan-interval (10 s by default): 5 minutes of silence means it is gone. */
export const EXTERNAL_DRIVE_TTL_MS = 5 * 60_000;
/** A pool's mark is written at most this often (calls come many times a minute). */
const REFRESH_MS = 30_000;

type Marks = Record<string, string>;

/** The pools an external autoscaler drives now (their last call within the TTL). */
export async function externallyDrivenPools(store: Pick<Store, 'getSetting'>, now = Date.now()): Promise<Set<string>> {
  const marks = (await store.getSetting<Marks>(EXTERNAL_DRIVE_KEY)) ?? {};
  return new Set(
    Object.entries(marks)
      .filter(([, at]) => now - Date.parse(at) < EXTERNAL_DRIVE_TTL_MS)
      .map(([pool]) => pool),
  );
}

/** Whether an external autoscaler drives `pool` now: the built-in one must then leave it alone. */
export async function externallyDriven(
  store: Pick<Store, 'getSetting'>,
  pool: string,
  now = Date.now(),
): Promise<boolean> {
  return (await externallyDrivenPools(store, now)).has(pool);
}

/** Marks pools as externally driven; writes only when a mark is older than REFRESH_MS (and drops stale ones). */
export class ExternalDrive {
  /** Last write per pool by this hub: the store is written at most once per REFRESH_MS per pool. */
  private readonly written = new Map<string, number>();

  constructor(
    private readonly store: Pick<Store, 'updateSetting'>,
    private readonly now: () => number = Date.now,
  ) {}

  async mark(pool: string): Promise<boolean> {
    const now = this.now();
    const last = this.written.get(pool);
    if (last !== undefined && now - last < REFRESH_MS) return false;
    let fresh = false;
    await this.store.updateSetting<Marks>(EXTERNAL_DRIVE_KEY, (cur) => {
      const next: Marks = {};
      for (const [p, at] of Object.entries(cur ?? {})) if (now - Date.parse(at) < EXTERNAL_DRIVE_TTL_MS) next[p] = at;
      fresh = next[pool] === undefined;
      next[pool] = new Date(now).toISOString();
      return next;
    });
    this.written.set(pool, now);
    return fresh;
  }

  /** Forgets a pool's mark (the pool was deleted). */
  async clear(pool: string): Promise<void> {
    this.written.delete(pool);
    await this.store.updateSetting<Marks>(EXTERNAL_DRIVE_KEY, (cur) => {
      if (!cur?.[pool]) return cur;
      const { [pool]: _gone, ...rest } = cur;
      return rest;
    });
  }
}
