// What the autoheal engine and its parts (ladder, attention, observer) are given: its own module so the parts
// need not import the engine that imports them.
import type { Store } from '../store/types.js';
import type { EventLog } from '../events.js';
import type { Logger } from '../logger.js';
import type { NodeRegistry } from '../nodes/registry.js';
import type { ControlPlane } from '../k3s/control-plane.js';
import type { AutohealSettings } from './settings.js';
import type { Clock } from '../clock.js';
import type { ClockHold } from '../clock-watch.js';

export interface AutohealDeps {
  store: Store;
  events: EventLog;
  registry: NodeRegistry;
  controlPlane: Pick<ControlPlane, 'info' | 'client'>;
  logger: Logger;
  settings: AutohealSettings;
  /** Removes a node the way DELETE /v1/nodes/{id} does. */
  removeNode(id: string, actor: string): Promise<boolean>;
  /** A #cloud-config that joins a new machine to the pool, and the id of the fresh single-use token in it. */
  cloudInit(pool: string): Promise<{ doc: string; tokenId: string }>;
  intervalMs: number;
  /** Mass-drop window of the partition guard (default 2 min). */
  guardWindowMs: number;
  /** No action right after a hub start: agents are still reconnecting. */
  startupGraceMs: number;
  /** Flap window (default 15 min); more than 2 changes in it mark a node flapping. */
  flapWindowMs: number;
  /** Ages and timers on its monotonic clock; stored stamps from its wall clock (the hub's steady time). */
  clock?: Clock;
  /** A step of the hub's own clock is settling: autoheal holds (see clock-watch.ts). */
  clockHold?: () => ClockHold | undefined;
  /** Whether this hub leads autoheal now (hub/cluster/leadership.ts); a tick on another hub does nothing. */
  leads?: () => boolean;
}
