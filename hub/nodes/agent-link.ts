// One live agent connection as the hub's node logic sees it (the gateway's session implements it),
// and what a command sent over it comes back with.
import type { K3sAssignment } from '../../proto/index.js';

export interface CommandOutcome {
  ok: boolean;
  errorCode: string;
  message: string;
}

/** One live agent connection, as the registry sees it (implemented by the gateway's session). */
export interface AgentLink {
  readonly nodeId: string;
  readonly connectedAt: number;
  readonly remoteAddress: string;
  readonly tlsResumed?: boolean;
  /** "off" when the agent runs no k3s (from its hello). */
  readonly k3sMode: string;
  /** Expiry (ms) of the client certificate the link authenticated with; absent when unknown. */
  readonly certNotAfterMs?: number;
  close(code: string, reason: string): void;
  /** Sends a close reason and waits for the agent to hang up (it stops its work first), or the timeout. */
  retire(code: string, reason: string, timeoutMs: number): Promise<boolean>;
  /** A durable command (see commands.ts): stored, sent, re-sent on reconnect; resolves with its result or a timeout. */
  command(action: string, args: Record<string, string>, timeoutMs: number): Promise<CommandOutcome>;
  sendCommand(cmd: { id: string; action: string; args: Record<string, string>; deadlineMs: number }): boolean;
  assignK3s(assignment: K3sAssignment): boolean;
  /** Whether the agent still answers within `timeoutMs` (a ping and any frame back). */
  probe?(timeoutMs: number): Promise<boolean>;
}
