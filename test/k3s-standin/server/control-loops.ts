// The control plane's loops: kube-controller-manager's (node lifecycle, disruption, cleanup) and
// kube-scheduler's, each behind leader election when servers share a datastore; the endpoint
// reconciler and the server's own node on every server.
import type { Logger } from '../util/log.js';
import type { ObjectStore } from '../store/object-store.js';
import type { ResourceService } from '../api/resource-service.js';
import type { ServerConfig } from './server-config.js';
import { startNodeLifecycle } from '../controllers/node-lifecycle.js';
import { startPdbStatus } from '../controllers/pdb-status.js';
import { startScheduler } from '../controllers/scheduler.js';
import { startCleanup } from '../controllers/cleanup.js';
import { startEmbeddedNode } from './embedded-node.js';
import { startLeaderElection } from './leader-election.js';
import { startEndpointReconciler } from './endpoint-reconciler.js';

export interface LoopSettings {
  readonly heartbeatMs: number;
  readonly graceMs: number;
  readonly version: string;
  readonly advertiseIp: string;
  /** Several servers may share the datastore: run controllers only while holding their lease. */
  readonly elect: boolean;
}

export function startControlLoops(
  cfg: ServerConfig,
  store: ObjectStore,
  svc: ResourceService,
  log: Logger,
  s: LoopSettings,
): () => void {
  const controllerManager = (): (() => void) => {
    const stops = [
      startNodeLifecycle(store, svc, log, { graceMs: s.graceMs }),
      startPdbStatus(store, svc),
      startCleanup(store, svc, log),
    ];
    return () => stops.forEach((stop) => stop());
  };
  const scheduler = (): (() => void) => startScheduler(store, svc);
  const stops = s.elect
    ? [
        startLeaderElection(svc, log, { name: 'kube-controller-manager', run: controllerManager }),
        startLeaderElection(svc, log, { name: 'kube-scheduler', run: scheduler }),
      ]
    : [controllerManager(), scheduler()];
  stops.push(startEndpointReconciler(store, svc, log, { ip: s.advertiseIp, port: cfg.httpsPort }));
  if (!cfg.disableAgent) stops.push(startEmbeddedNode(cfg, svc, s.version, s.heartbeatMs));
  return () => {
    for (const stop of stops.reverse()) stop();
  };
}
