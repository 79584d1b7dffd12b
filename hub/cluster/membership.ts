// The hubs of a cluster as this hub sees them: it beats its own row every intervalMs (its URLs and how
// many agents it holds), then reads every row. A hub is live while its last beat is younger than
// liveAfterMs on the store's clock. liveGatewayUrls() answers from the last read, synchronously, for
// code that tells agents where the hubs are (the welcome).
import type { Logger } from '../logger.js';
import type { HubBeat, HubRecord, Store } from '../store/types.js';
import { logFailure } from '../../certs/log-failure.js';

export interface HubView extends HubRecord {
  live: boolean;
}

export interface MembershipDeps {
  store: Pick<Store, 'beatHub' | 'listHubs' | 'removeHub'>;
  self: Omit<HubBeat, 'agents'>;
  agents(): number;
  logger: Logger;
  intervalMs?: number;
  liveAfterMs?: number;
  /** Monotonic milliseconds (default performance.now): a wall-clock step does not cut the hub off. */
  mono?: () => number;
  forgetAfterMs?: number;
}

export interface Membership {
  readonly hubId: string;
  /** Beats now, then every interval. */
  start(): Promise<void>;
  stop(): void;
  /** Every hub row, fresh from the store, each marked live or not. */
  list(): Promise<HubView[]>;
  /** The direct gateway URLs of the live hubs as of the last beat, this hub's first. */
  liveGatewayUrls(): string[];
  /** False when beats fail and none got through for the live window (cut off from the store). */
  storeReachable(): boolean;
  /** The other hubs that were live at the last beat that reached the store: their API URLs. */
  lastLivePeers(): Array<{ id: string; gatewayUrl: string }>;
}

export const BEAT_INTERVAL_MS = 2000;
export const LIVE_AFTER_MS = 6000;
export const FORGET_AFTER_MS = 3_600_000;

export function createMembership(d: MembershipDeps): Membership {
  const intervalMs = d.intervalMs ?? BEAT_INTERVAL_MS;
  const liveAfterMs = d.liveAfterMs ?? LIVE_AFTER_MS;
  const forgetAfterMs = d.forgetAfterMs ?? FORGET_AFTER_MS;
  const mono = d.mono ?? (() => performance.now());
  let live: string[] = [d.self.gatewayUrl];
  let peers: Array<{ id: string; gatewayUrl: string }> = [];
  let lastOk = -Infinity;
  let lastFailed = -Infinity;
  let timer: NodeJS.Timeout | undefined;
  // One beat at a time. One that hangs (the database's link cut: packets dropped, no error) counts
  // as failed once it has run for the live window, until the pool's query timeout ends it.
  let inFlight: Promise<void> | undefined;
  let startedAt = 0;

  const list = async (): Promise<HubView[]> =>
    (await d.store.listHubs()).map((h) => ({ ...h, live: h.ageMs < liveAfterMs }));

  const beat = async (): Promise<void> => {
    if (inFlight) {
      if (mono() - startedAt >= liveAfterMs) lastFailed = mono();
      return;
    }
    startedAt = mono();
    inFlight = beatOnce().finally(() => {
      inFlight = undefined;
    });
    await inFlight;
  };

  const beatOnce = async (): Promise<void> => {
    try {
      await d.store.beatHub({ ...d.self, agents: d.agents() });
      const hubs = await list();
      lastOk = mono();
      peers = hubs.filter((h) => h.live && h.id !== d.self.id).map((h) => ({ id: h.id, gatewayUrl: h.gatewayUrl }));
      for (const h of hubs.filter((x) => x.id !== d.self.id && x.ageMs > forgetAfterMs)) {
        await d.store.removeHub(h.id);
        d.logger.info({ hub: h.id, lastBeat: h.lastBeat }, 'forgot a hub without a beat for --forget-hubs-after');
      }
      const others = hubs.filter((h) => h.live && h.id !== d.self.id).map((h) => h.gatewayUrl);
      live = [d.self.gatewayUrl, ...new Set(others)].filter((u, i, all) => all.indexOf(u) === i);
    } catch (err) {
      lastFailed = mono();
      throw err;
    }
  };

  return {
    hubId: d.self.id,
    async start() {
      await beat().catch(logFailure(d.logger, 'the hub membership beat'));
      timer = setInterval(() => beat().catch(logFailure(d.logger, 'the hub membership beat')), intervalMs);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
    },
    list,
    liveGatewayUrls: () => [...live],
    // Cut off: a beat has failed since the last one that got through, and that was a live window
    // ago. A beat that is only slow (a loaded machine) does not count.
    storeReachable: () => !(lastFailed > lastOk && mono() - lastOk >= liveAfterMs),
    lastLivePeers: () => [...peers],
  };
}
