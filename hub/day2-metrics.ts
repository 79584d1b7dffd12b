// Metrics of day-2 operations: days left of the k3s versions' support, the active alerts by kind and
// severity, and the expiry of the hub's own certificates (the node ones are in metrics.ts).
import { Gauge, type Registry } from 'prom-client';
import type { SupportWatch } from './versions/support-watch.js';
import type { AlertService } from './alerts/alert-service.js';
import { pemNotAfter } from './alerts/expiry-sources.js';

export function registerDay2Metrics(
  registry: Registry,
  d: { supportWatch: SupportWatch; alerts: AlertService; caPem: string; servingPem: string },
): void {
  new Gauge({
    name: 'atoll_k3s_version_support_days_left',
    help: 'Days until the end of life of the k3s version (negative after it): the control plane, and the node whose version ends first. Absent when the version is unknown.',
    labelNames: ['scope'],
    registers: [registry],
    collect() {
      this.reset();
      const days = d.supportWatch.daysLeft();
      if (days.controlPlane !== null) this.set({ scope: 'control-plane' }, days.controlPlane);
      if (days.node !== null) this.set({ scope: 'node' }, days.node);
    },
  });
  new Gauge({
    name: 'atoll_alerts_active',
    help: 'Active alerts (GET /v1/alerts) by kind (the id before ":", e.g. node-unreachable, rollout-halted) and severity, at the last evaluation.',
    labelNames: ['kind', 'severity'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of d.alerts.counts()) this.set({ kind: c.kind, severity: c.severity }, c.count);
    },
  });
  const certs = { ca: pemNotAfter(d.caPem) / 1000, serving: pemNotAfter(d.servingPem) / 1000 };
  new Gauge({
    name: 'atoll_hub_certificate_expiry_timestamp_seconds',
    help: "Expiry (Unix seconds) of the hub's own certificates: the CA and the serving certificate.",
    labelNames: ['cert'],
    registers: [registry],
    collect() {
      for (const [cert, at] of Object.entries(certs)) if (Number.isFinite(at)) this.set({ cert }, at);
    },
  });
}
