// The hub's periodic chores: the liveness sweep and command expiry (every unreachable window / 5,
// within 200 ms..5 s) and, every minute, purging removed nodes from Kubernetes.
import type { Logger } from './logger.js';
import type { NodeRegistry } from './nodes/registry.js';
import type { CommandService } from './nodes/commands.js';
import type { NodeK3s } from './k3s/node-k3s.js';
import { logFailure } from '../certs/log-failure.js';

export interface HousekeepingDeps {
  registry: NodeRegistry;
  commands: CommandService;
  nodeK3s: NodeK3s;
  unreachableAfterMs: number;
  logger: Logger;
  /** Logs a failed purge (the k3s component's logger). */
  purgeLogger: Logger;
  /** Whether this hub runs the purges (it leads `purges`, hub/cluster/leadership.ts); default always. */
  leadsPurges?: () => boolean;
}

/** Starts the chores; returns the function that stops them. */
export function startHousekeeping(d: HousekeepingDeps): () => void {
  const sweeper = setInterval(
    () => {
      d.registry.sweep().catch(logFailure(d.logger, 'the liveness sweep'));
      d.commands.expire().catch(logFailure(d.logger, 'expiring commands'));
    },
    Math.max(200, Math.min(5000, Math.floor(d.unreachableAfterMs / 5))),
  );
  sweeper.unref();
  const purger = setInterval(() => {
    if (d.leadsPurges?.() ?? true) d.nodeK3s.purgePending().catch(logFailure(d.purgeLogger, 'purging removed nodes'));
  }, 60_000);
  purger.unref();
  return () => {
    clearInterval(sweeper);
    clearInterval(purger);
  };
}
