// POST /v1/join on the gateway: enroll the node (nodes/enrollment.ts), count the attempt, hand the
// node.joined event the store wrote to live listeners (SSE); a refusal is logged and recorded as
// join.rejected with its code, then thrown to the route.
import type { Store } from '../store/types.js';
import type { EventLog } from '../events.js';
import type { Logger } from '../logger.js';
import type { NodeRegistry } from '../nodes/registry.js';
import type { TokenService } from '../tokens/token-service.js';
import type { CaMaterial } from '../../certs/ca.js';
import type { HubMetrics } from '../metrics.js';
import type { Clock } from '../clock.js';
import { enroll, type JoinRequest, type JoinResult } from '../nodes/enrollment.js';

export interface JoinHandlerDeps {
  store: Store;
  tokens: TokenService;
  ca: CaMaterial;
  events: EventLog;
  registry: NodeRegistry;
  metrics: HubMetrics;
  logger: Logger;
  clock: Clock;
  nodeCertTtlMs: number;
  heartbeatIntervalMs: number;
}

export function joinHandler(d: JoinHandlerDeps): (req: JoinRequest, source: string) => Promise<JoinResult> {
  const { store, tokens, ca, events, registry, metrics, clock } = d;
  return async (req, source) => {
    try {
      const joined = await enroll(
        {
          store,
          tokens,
          ca,
          events,
          registry,
          nodeCertTtlMs: d.nodeCertTtlMs,
          heartbeatIntervalMs: d.heartbeatIntervalMs,
          now: () => clock.now(),
        },
        req,
        source,
      );
      metrics.joinAttempt('ok');
      // store.enroll wrote node.joined in its transaction; hand it to live listeners (SSE) too.
      // (A re-join wrote its node.rejoined event through the event log already.)
      const [joinedEvent] = joined.rejoined
        ? []
        : await store.listEvents({ type: 'node.joined', nodeId: joined.nodeId, limit: 1 }).catch(() => []);
      if (joinedEvent) events.publish(joinedEvent);
      return joined;
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'INTERNAL';
      metrics.joinAttempt(code);
      d.logger.warn({ source, code, reason: (err as Error).message }, 'join refused');
      await events.note({
        type: 'join.rejected',
        actor: `ip:${source}`,
        message: `join from ${source} refused: ${(err as Error).message}`,
        data: { code, source },
      });
      throw err;
    }
  };
}
