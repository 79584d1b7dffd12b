// Shapes of the agent's hub link: its status, its options, and the reconnect backoff.
import type { Command, K3sAssignment, K3sStatus } from '../proto/index.js';
import type { RenewalStatus } from './cert-renewer.js';
import type { HealthSource } from './health.js';
import type { Logger } from './logger.js';

export type LinkState = 'connecting' | 'connected' | 'backoff' | 'removed' | 'identity-conflict' | 'stopped';

export interface LinkStatus {
  state: LinkState;
  since: string;
  lastError: string | null;
  connectedAt: string | null;
  heartbeatIntervalMs: number;
  reconnects: number;
  /** The hub being dialed or connected to, and the hubs the last welcome named. */
  hub?: string;
  knownHubs?: string[];
  /** Certificate renewal: in flight or not, failed attempts in a row, the last error, the next try. */
  certRenewal?: RenewalStatus;
}

export interface CommandHandler {
  (cmd: Command): Promise<{ ok: boolean; errorCode?: string; message?: string }>;
}

export interface ConnectionOptions {
  dataDir: string;
  agentVersion: string;
  logger: Logger;
  health: HealthSource;
  k3sStatus: () => K3sStatus;
  onCommand: CommandHandler;
  onK3sAssignment?: (a: K3sAssignment) => void;
  k3sMode: 'auto' | 'off';
  onStatus?: (s: LinkStatus) => void;
  /**
   * Called once when the link ends for good: the hub removed this node, or another machine holds
   * its identity. The link closes when it resolves.
   */
  onEnded?: (why: 'removed' | 'identity-conflict', reason: string) => Promise<void> | void;
  /** Called after that has been carried out and the link is closed. */
  onGone?: (why: 'removed' | 'identity-conflict') => void;
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
  random?: () => number;
}

/** A certificate the hub will not renew (past its grace, superseded) is asked about again this rarely. */
export const STUCK_RETRY_MS = 10 * 60_000;

/** Full-jitter exponential backoff: a random delay in [base*2^n/2, base*2^n], capped. */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 20));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
