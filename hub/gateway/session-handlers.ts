// What the hub does with each connected agent's frames (gateway/agent-session.ts): hello attaches it
// to the registry, health reports feed its state, after the welcome pending commands and its k3s
// assignment go out, commands and their results go through the command service, and a CSR renews
// its certificate (cert-renewal.ts).
import type { Logger } from '../logger.js';
import type { NodeRegistry } from '../nodes/registry.js';
import type { CommandService } from '../nodes/commands.js';
import type { NodeK3s } from '../k3s/node-k3s.js';
import type { HubMetrics } from '../metrics.js';
import { toFacts, type SessionHandlers } from './agent-session.js';
import { renewNodeCert, type CertRenewalDeps } from './cert-renewal.js';
import { logFailure } from '../../certs/log-failure.js';

export interface SessionHandlerDeps extends CertRenewalDeps {
  registry: NodeRegistry;
  commands: CommandService;
  nodeK3s: NodeK3s;
  metrics: HubMetrics;
  logger: Logger;
}

export function sessionHandlers(d: SessionHandlerDeps): SessionHandlers {
  const { registry, commands, nodeK3s, metrics } = d;
  return {
    async hello(s, frame) {
      const node = await registry.attach(s, toFacts(frame.hello?.facts), frame.hello?.agentVersion ?? 'unknown');
      return node && { nodeName: node.name, pool: node.pool };
    },
    health: (s, h) => {
      metrics.reportReceived();
      return registry.report(s.nodeId, h);
    },
    async welcomed(s) {
      await commands.resend(s).catch((err: unknown) => d.logger.warn({ nodeId: s.nodeId, err: (err as Error).message }, 'could not re-send pending commands'));
      await nodeK3s.assign(s);
    },
    command: (nodeId, action, args, timeoutMs) => commands.run(nodeId, action, args, 'hub', timeoutMs),
    commandResult: (s, r) => commands.result(s.nodeId, r),
    touch: (s) => registry.touch(s.nodeId),
    closed: (s, reason) => registry.detach(s, reason).catch(logFailure(d.logger, 'recording a closed link')),
    renewCert: (s, csrPem) => renewNodeCert(d, s.nodeId, csrPem),
  };
}
