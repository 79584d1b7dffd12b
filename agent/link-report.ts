// What the agent sends on its own over the link: a health sample each interval, and the result of
// each command the hub sent.
import type { Command, Envelope, K3sStatus } from '../proto/index.js';
import { clampText, LIMITS } from '../proto/index.js';
import type { HealthSource } from './health.js';
import type { CommandExecutor } from './commands/executor.js';
import type { Logger } from './logger.js';
import { logFailure } from '../certs/log-failure.js';

type Send = (payload: Omit<Envelope, 'protocolVersion' | 'messageId' | 'sentAtMs'>) => boolean;

/** Samples health and sends it; a failed sample is logged, never thrown. */
export async function reportHealth(health: HealthSource, k3s: () => K3sStatus, send: Send, log: Logger): Promise<void> {
  try {
    send({ health: await health.sample(k3s()) });
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'health sample failed');
  }
}

/** Runs a command and sends its result on whatever link is up then (if none is, the hub re-sends it after the reconnect). */
export function runCommand(commands: CommandExecutor, cmd: Command, send: Send, log: Logger): void {
  commands
    .run(cmd)
    .then((result) => send({ commandResult: { ...result, message: clampText(result.message, LIMITS.message.max) } }))
    .catch(logFailure(log, 'running a command'));
}
