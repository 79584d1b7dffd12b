// What the gateway does with a verified agent socket: a session whose frames go to the registry, the
// command service, k3s assignment and certificate renewal.
import type { WebSocket } from 'ws';
import { AgentSession } from './agent-session.js';
import { toFacts } from './agent-reports.js';
import type { CertRecord } from '../store/types.js';
import type { NodeRegistry } from '../nodes/registry.js';
import type { CommandService } from '../nodes/commands.js';
import type { CertRenewal } from '../nodes/cert-renewal.js';
import type { IdentityGuard } from '../nodes/identity-guard.js';
import type { NodeK3s } from '../k3s/node-k3s.js';
import type { HubMetrics } from '../metrics.js';
import type { Logger } from '../logger.js';
import type { Clock } from '../clock.js';
import { logFailure } from '../../certs/log-failure.js';

export interface AgentConnectDeps {
  heartbeatIntervalMs: number;
  hubVersion: string;
  logger: Logger;
  /** Liveness of the session on its monotonic clock. */
  clock?: Clock;
  registry: NodeRegistry;
  commands: CommandService;
  renewal: CertRenewal;
  identityGuard: IdentityGuard;
  metrics: HubMetrics;
  nodeK3s: () => NodeK3s | undefined;
  /** Direct gateway URLs of the live hubs, sent in every welcome. */
  liveGatewayUrls: () => string[];
}

export function agentConnector(
  deps: AgentConnectDeps,
): (ws: WebSocket, nodeId: string, remoteAddress: string, tlsResumed: boolean, cert: CertRecord) => void {
  const { registry, commands, renewal, metrics, logger } = deps;
  return (ws, nodeId, remoteAddress, tlsResumed, cert) => {
    // First connect with a certificate: the ones it replaces are revoked now (it is in use).
    if (!cert.usedAt)
      renewal.inUse(nodeId, cert.serial).catch(logFailure(logger, 'revoking the certificates a new one replaces'));
    new AgentSession(ws, {
      nodeId,
      remoteAddress,
      tlsResumed,
      heartbeatIntervalMs: deps.heartbeatIntervalMs,
      hubVersion: deps.hubVersion,
      liveGatewayUrls: deps.liveGatewayUrls,
      logger,
      clock: deps.clock,
      cert: { serial: cert.serial, notAfterMs: Date.parse(cert.notAfter) },
      handlers: {
        async hello(s, frame) {
          const facts = toFacts(frame.hello?.facts);
          const admission = await deps.identityGuard.admit(s, facts);
          if (!admission.admit) {
            s.close(admission.code, admission.reason);
            return undefined;
          }
          const node = await registry.attach(s, facts, frame.hello?.agentVersion ?? 'unknown');
          return node && { nodeName: node.name, pool: node.pool };
        },
        health: (s, h) => {
          metrics.reportReceived();
          return registry.report(s.nodeId, h);
        },
        async welcomed(s) {
          await commands
            .resend(s)
            .catch((err: unknown) =>
              logger.warn({ nodeId: s.nodeId, err: (err as Error).message }, 'could not re-send pending commands'),
            );
          await deps.nodeK3s()?.assign(s);
        },
        command: (id, action, args, timeoutMs) => commands.run(id, action, args, 'hub', timeoutMs),
        commandResult: (s, r) => commands.result(s.nodeId, r),
        touch: (s) => registry.touch(s.nodeId),
        closed: (s, reason) => registry.detach(s, reason).catch(logFailure(logger, 'recording a closed link')),
        renewCert: (s, csrPem) => renewal.overLink(s.nodeId, cert, csrPem),
      },
    });
  };
}
