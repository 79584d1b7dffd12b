// Prometheus series of the autoscaler, read from the engine at scrape time: per pool, from its last
// tick, the size (nodes), target size, minSize, maxSize, the unschedulable pods it planned into the
// pool and the failures in a row; the unschedulable pods no pool scales up for, by reason; and the
// hook calls that failed since this hub started, per pool and action (a counter).
import { Counter, Gauge, type Registry } from 'prom-client';
import type { PoolGauge } from './engine.js';

const SERIES: Array<[name: string, help: string, key: keyof PoolGauge]> = [
  ['atoll_autoscale_pool_size', 'Nodes in the pool (autoscaled or scaled by hand)', 'size'],
  ['atoll_autoscale_pool_target_size', 'The size the autoscaler works towards', 'target'],
  ['atoll_autoscale_pool_min_size', "The pool's minSize", 'min'],
  ['atoll_autoscale_pool_max_size', "The pool's maxSize", 'max'],
  ['atoll_autoscale_unschedulable_pods', 'Unschedulable pods the autoscaler planned into the pool', 'unschedulable'],
  [
    'atoll_autoscale_failures',
    "Autoscale failures in a row for the pool (the hook's create or delete, a machine not Ready in time); 0 after a success",
    'failures',
  ],
];

export interface AutoscaleMetricsSource {
  gauges: ReadonlyMap<string, PoolGauge>;
  unplaced: ReadonlyMap<string, number>;
  /** `<pool>\n<action>` -> failed hook calls. */
  hookFailures: ReadonlyMap<string, number>;
}

export function registerAutoscaleMetrics(registry: Registry, source: () => AutoscaleMetricsSource): void {
  for (const [name, help, key] of SERIES) {
    new Gauge({
      name,
      help,
      labelNames: ['pool'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [pool, g] of source().gauges) this.set({ pool }, g[key]);
      },
    });
  }
  new Gauge({
    name: 'atoll_autoscale_unplaced_pods',
    help: 'Unschedulable pods no autoscaled pool scales up for, by reason: no-pool-fits (no pool would fit them), max-size (the pools that would are at maxSize)',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of source().unplaced) this.set({ reason }, n);
    },
  });
  new Counter({
    name: 'atoll_autoscale_hook_failures_total',
    help: "Calls of a pool's provider hook by the autoscaler that failed (action: create or delete), since the hub started",
    labelNames: ['pool', 'action'],
    registers: [registry],
    collect() {
      this.reset();
      const { gauges, hookFailures } = source();
      // Every autoscaled pool has both series from 0, so increase() sees its first failure.
      const pools = new Set([...gauges.keys(), ...[...hookFailures.keys()].map((k) => k.split('\n')[0])]);
      for (const pool of pools)
        for (const action of ['create', 'delete'])
          this.inc({ pool, action }, hookFailures.get(`${pool}\n${action}`) ?? 0);
    },
  });
}
