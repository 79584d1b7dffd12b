// What the autoscaler keeps per pool in the store (setting `autoscale.state.<pool>`), read and written
// with compare-and-set (store.updateSetting): the target size, the machines asked of the hook and not
// yet Ready (so a restarted hub or a new leader does not ask again for the same need), which machine
// each node it made runs on, failures with their backoff, and the timers of scale-down.
import type { Store } from '../store/types.js';

export interface InFlightMachine {
  /** What the hook's create answered. */
  machineId: string;
  /** The single-use join token inside its cloud-init: the node that joins with it is this machine. */
  tokenId: string;
  /** Wall-clock ms. */
  requestedAt: number;
}

export type FailedAction = 'create' | 'delete' | 'provision';

export interface AutoscaleState {
  /** The size the pool should have (nodes plus machines on the way); null: not set, nothing to do. */
  target: number | null;
  inFlight: InFlightMachine[];
  /** node id -> machine id, for the hook's delete. */
  machines: Record<string, string>;
  failures: number;
  /** What failed last (null after a success): the hook's create or delete, or a machine not Ready in time. */
  lastFailure: { action: FailedAction; message: string } | null;
  /** Wall-clock ms before which no machine is created (after a failure). */
  backoffUntil: number;
  /** Wall-clock ms of the last scale-up (scaleDownDelayAfterAdd counts from it). */
  lastScaleUpAt: number;
  /** node name -> wall-clock ms since when it has been unneeded. */
  unneededSince: Record<string, number>;
}

export const emptyState = (): AutoscaleState => ({
  target: null,
  inFlight: [],
  machines: {},
  failures: 0,
  lastFailure: null,
  backoffUntil: 0,
  lastScaleUpAt: 0,
  unneededSince: {},
});

const key = (pool: string): string => `autoscale.state.${pool}`;

export async function readState(store: Store, pool: string): Promise<AutoscaleState> {
  return { ...emptyState(), ...((await store.getSetting<Partial<AutoscaleState>>(key(pool))) ?? {}) };
}

/** A compare-and-set of the pool's state; `fn` changes the copy it gets (and may throw to change nothing). */
export async function updateState(
  store: Store,
  pool: string,
  fn: (s: AutoscaleState) => void,
): Promise<AutoscaleState> {
  const next = await store.updateSetting<AutoscaleState>(key(pool), (cur) => {
    const s = { ...emptyState(), ...(cur ?? {}) };
    fn(s);
    return s;
  });
  return next ?? emptyState();
}

/** Backoff after `failures` failures in a row: 30 s doubling, at most 30 min. */
export const backoffMs = (failures: number): number => Math.min(30 * 60_000, 30_000 * 2 ** Math.max(0, failures - 1));
