// Prometheus gauges of the autoscaler, per pool, read from the engine's last tick at scrape time:
// size (nodes), target size, minSize, maxSize and the unschedulable pods it saw for the pool.
import { Gauge, type Registry } from 'prom-client';
import type { PoolGauge } from './engine.js';

const SERIES: Array<[name: string, help: string, key: keyof PoolGauge]> = [
  ['atoll_autoscale_pool_size', 'Nodes in the pool (autoscaled or scaled by hand)', 'size'],
  ['atoll_autoscale_pool_target_size', 'The size the autoscaler works towards', 'target'],
  ['atoll_autoscale_pool_min_size', "The pool's minSize", 'min'],
  ['atoll_autoscale_pool_max_size', "The pool's maxSize", 'max'],
  ['atoll_autoscale_unschedulable_pods', 'Unschedulable pods the autoscaler planned into the pool', 'unschedulable'],
];

export function registerAutoscaleMetrics(registry: Registry, gauges: () => ReadonlyMap<string, PoolGauge>): void {
  for (const [name, help, key] of SERIES) {
    new Gauge({
      name,
      help,
      labelNames: ['pool'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [pool, g] of gauges()) this.set({ pool }, g[key]);
      },
    });
  }
}
