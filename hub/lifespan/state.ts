// What lifespan keeps per pool (a store setting, `lifespan.pool.<name>`): the replacements in flight
// with their phase, the failures and backoff, the nodes already given their notice and the machine
// ids the hook answered. Saved before each step is taken: a hub restart resumes, never repeats.
import type { Store } from '../store/types.js';

export type ReplacementPhase = 'creating' | 'waiting' | 'retiring';

export interface Replacement {
  oldId: string;
  oldName: string;
  /** The single-use join token in the cloud-init handed to the hook: the node that joins with it is the new one. */
  tokenId: string;
  /** What the hook's create answered; null until then (or when it said none). */
  machineId: string | null;
  requestedAt: string;
  phase: ReplacementPhase;
  newId?: string;
}

export interface PoolLifespan {
  inFlight: Replacement[];
  failures: number;
  backoffUntil: number;
  lastError: string | null;
  noticed: string[];
  /** Node id -> the machine id the hook's create answered for it (for its later `delete`). */
  machines: Record<string, string>;
}

export const emptyLifespan = (): PoolLifespan => ({
  inFlight: [],
  failures: 0,
  backoffUntil: 0,
  lastError: null,
  noticed: [],
  machines: {},
});

export const lifespanKey = (pool: string): string => `lifespan.pool.${pool}`;

/** Every pool's state in one query. */
export async function loadLifespans(store: Store, pools: readonly string[]): Promise<Map<string, PoolLifespan>> {
  const docs = await store.getSettings<Partial<PoolLifespan>>(pools.map(lifespanKey));
  return new Map(pools.map((p) => [p, { ...emptyLifespan(), ...(docs.get(lifespanKey(p)) ?? {}) }]));
}

export async function saveLifespan(store: Store, pool: string, s: PoolLifespan): Promise<void> {
  await store.setSetting(lifespanKey(pool), s);
}
