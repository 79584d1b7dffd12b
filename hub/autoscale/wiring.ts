// The autoscaler wired into the hub (one line in app.ts): the engine as the singleton of the
// 'autoscale' role (only the leader runs it), its metrics, and the cloud-init its machines join with.
import type { Registry } from 'prom-client';
import type { HubServices } from '../api/services.js';
import type { HubCluster, Singleton } from '../cluster/hub-cluster.js';
import { replacementDocs } from '../autoheal/replacement-doc.js';
import { AutoscaleEngine } from './engine.js';
import { registerAutoscaleMetrics } from './metrics.js';

export function autoscaleRole(svc: HubServices, cluster: HubCluster, metrics: Registry): Singleton {
  const engine = new AutoscaleEngine({
    // Its state (targets, machines asked for) is written fenced: a hub that lost the role writes none.
    store: cluster.fenced('autoscale'),
    events: svc.events,
    registry: svc.registry,
    controlPlane: svc.controlPlane,
    logger: svc.logger.child({ component: 'autoscale' }),
    autohealSettings: svc.autohealSettings,
    guard: () => svc.autoheal.guardState(),
    removeNode: svc.removeNode,
    cloudInit: replacementDocs({
      tokens: svc.tokens,
      events: svc.events,
      publicUrl: svc.config.publicUrl,
      caPem: svc.caPem,
      actor: 'autoscale',
      purpose: 'a new autoscaled machine',
    }),
    intervalMs: svc.config.autoscaleIntervalMs,
    leads: cluster.leads('autoscale'),
  });
  registerAutoscaleMetrics(metrics, () => engine);
  return { start: () => engine.start(), stop: () => engine.stop() };
}
