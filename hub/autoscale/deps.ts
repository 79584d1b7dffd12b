// What the autoscale engine and its parts are given (wiring.ts builds it from the hub's services).
import type { Store } from '../store/types.js';
import type { EventLog } from '../events.js';
import type { Logger } from '../logger.js';
import type { NodeRegistry } from '../nodes/registry.js';
import type { ControlPlane } from '../k3s/control-plane.js';
import type { AutohealSettings } from '../autoheal/settings.js';
import type { GuardState } from '../autoheal/guard.js';

export interface AutoscaleDeps {
  store: Store;
  events: EventLog;
  registry: NodeRegistry;
  controlPlane: Pick<ControlPlane, 'client'>;
  logger: Logger;
  /** The pool's hook lives in its autoheal settings. */
  autohealSettings: AutohealSettings;
  /** Autoheal's partition guard: while frozen, autoscale does nothing either. */
  guard: () => GuardState;
  /** Removes a node the way DELETE /v1/nodes/{id} does. */
  removeNode(id: string, actor: string): Promise<boolean>;
  /** A #cloud-config that joins a new machine to the pool, with the id of its single-use token. */
  cloudInit(pool: string): Promise<{ doc: string; tokenId: string }>;
  intervalMs: number;
  /** Whether this hub leads autoscale now. */
  leads: () => boolean;
  now?: () => number;
}
