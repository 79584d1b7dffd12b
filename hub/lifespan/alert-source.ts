// Lifespan's alerts: a pool whose replacements fail (`lifespan-failed:<pool>`, until one succeeds)
// and a pool with over-age nodes and no provider hook to replace them (`lifespan-exceeded:<pool>`).
import type { Store } from '../store/types.js';
import type { AlertInput, AlertSource } from '../alerts/alert-source.js';
import { lifespanKey, type PoolLifespan } from './state.js';

export function lifespanSource(store: Store): AlertSource {
  return {
    name: 'lifespan',
    async collect() {
      const pools = await store.listPools();
      const docs = await store.getSettings<Partial<PoolLifespan>>(pools.map((p) => lifespanKey(p.name)));
      const out: AlertInput[] = [];
      for (const p of pools) {
        const s = docs.get(lifespanKey(p.name));
        if (!s) continue;
        if (p.maxNodeAge && s.failures && s.lastError)
          out.push({
            id: `lifespan-failed:${p.name}`,
            severity: 'warning',
            message: `node lifespan in pool ${p.name}: ${s.failures} failed replacement(s): ${s.lastError}; next try after ${new Date(s.backoffUntil ?? 0).toISOString()}`,
            link: '#/pools',
          });
        if (p.maxNodeAge && s.noticed?.length)
          out.push({
            id: `lifespan-exceeded:${p.name}`,
            severity: 'info',
            message: `${s.noticed.length} node(s) in pool ${p.name} are older than its maxNodeAge (${p.maxNodeAge}) and the pool has no provider hook: replace them by hand`,
            link: '#/pools',
          });
      }
      return out;
    },
  };
}
