// A hub cut off from the shared datastore sends its agents to a hub that still has it. Cut off: no
// membership beat has reached the store for the live window. Then, every second, it asks the hubs
// that were live at its last good beat for GET /readyz on their gateway (the address agents reach
// them at, its own --gateway-url; the API often listens on loopback only), trusting the cluster's
// CA: while one of
// them answers 200, this hub sheds its agents (HUB_DRAINING), and they fail over. When every hub is
// cut off (the database itself is down), nobody answers ready and every hub keeps its agents: moving
// them would gain nothing. Once this hub's beat reaches the store again, it keeps agents again.
import { request } from 'node:https';
import type { Logger } from '../logger.js';
import type { Membership } from './membership.js';
import { logFailure } from '../../certs/log-failure.js';

export const PROBE_EVERY_MS = 1000;
const PROBE_TIMEOUT_MS = 800;

export type ReadyProbe = (gatewayUrl: string) => Promise<boolean>;

/** GET {gatewayUrl}/readyz, trusting only the cluster's CA; true on 200 within the timeout (all of it). */
export function readyProbe(caPem: string): ReadyProbe {
  return (gatewayUrl) =>
    new Promise((resolve) => {
      let url: URL;
      try {
        url = new URL('/readyz', gatewayUrl);
      } catch {
        resolve(false);
        return;
      }
      // The whole probe (lookup, connect, TLS, answer) is bounded, not only its idle time.
      const signal = AbortSignal.timeout(PROBE_TIMEOUT_MS);
      const req = request(url, { ca: caPem, timeout: PROBE_TIMEOUT_MS, minVersion: 'TLSv1.2', signal }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
      req.end();
    });
}

export interface CutoffShedder {
  /** Whether the gateway should send its agents away now. */
  shouldShed(): boolean;
  stop(): void;
}

export function startCutoffShedder(d: {
  membership: Pick<Membership, 'storeReachable' | 'lastLivePeers'>;
  probe: ReadyProbe;
  logger: Logger;
  everyMs?: number;
}): CutoffShedder {
  let shed = false;
  let busy = false;
  const tick = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      let next = false;
      if (!d.membership.storeReachable()) {
        for (const peer of d.membership.lastLivePeers()) {
          if (await d.probe(peer.gatewayUrl)) {
            next = true;
            break;
          }
        }
      }
      if (next !== shed)
        d.logger.warn(
          next
            ? 'cut off from the datastore while another hub has it: sending the agents to the other hubs'
            : 'keeping agents again (the datastore is back, or no other hub has it)',
        );
      shed = next;
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(
    () => tick().catch(logFailure(d.logger, 'the datastore cut-off check')),
    d.everyMs ?? PROBE_EVERY_MS,
  );
  timer.unref();
  return {
    shouldShed: () => shed,
    stop: () => clearInterval(timer),
  };
}
