// What a hub-side agent session is given: its connection's facts, its timing, and the handlers its
// frames go to (agent-connect.ts supplies them: registry, commands, k3s assignment, renewal).
import type { Frame } from '../../proto/index.js';
import type { AgentLink, CommandOutcome } from '../nodes/agent-link.js';
import type { HealthRecord } from '../store/types.js';
import type { Logger } from '../logger.js';
import type { Clock } from '../clock.js';

export interface SessionHandlers {
  hello(session: AgentLink, frame: Frame): Promise<{ nodeName: string; pool: string } | undefined>;
  health(session: AgentLink, health: HealthRecord): Promise<void>;
  renewCert(session: AgentLink, csrPem: string): Promise<{ certPem: string } | { errorCode: string; message: string }>;
  touch(session: AgentLink): void;
  /** After the welcome went out: the hub may push the node's desired state. */
  welcomed?(session: AgentLink): Promise<void>;
  closed(session: AgentLink, reason: string): void;
  /** Runs a durable command on this node (stored, sent, re-sent on reconnect) and waits for its result. */
  command(nodeId: string, action: string, args: Record<string, string>, timeoutMs: number): Promise<CommandOutcome>;
  /** A command result from the agent. */
  commandResult(
    session: AgentLink,
    result: { commandId: string; ok: boolean; errorCode: string; message: string },
  ): Promise<void>;
}

export interface SessionOptions {
  nodeId: string;
  remoteAddress: string;
  /** The TLS session was resumed (a ticket from an earlier connection). */
  tlsResumed?: boolean;
  /** The client certificate the agent authenticated with. */
  cert?: { serial: string; notAfterMs: number };
  heartbeatIntervalMs: number;
  helloTimeoutMs?: number;
  hubVersion: string;
  /** Direct gateway URLs of the live hubs, for the welcome (cleaned and bounded before sending). */
  liveGatewayUrls?: () => string[];
  logger: Logger;
  handlers: SessionHandlers;
  /** Heartbeat silence on its monotonic clock; agents' clock skew against its wall time (the hub's steady time). */
  clock?: Clock;
}
