// Autoscale's alert: a pool whose machines fail (`autoscale-failed:<pool>`: the hook's create or
// delete failed, or a machine was not Ready within maxNodeProvisionTime), from its stored state, so
// every hub shows it; it clears with the next success (a node Ready, or a delete that works again).
import type { Store } from '../store/types.js';
import type { AlertInput, AlertSource } from '../alerts/alert-source.js';
import { readState } from './state.js';

export function autoscaleSource(store: Store): AlertSource {
  return {
    name: 'autoscale',
    async collect() {
      const out: AlertInput[] = [];
      for (const p of await store.listPools()) {
        const s = await readState(store, p.name);
        if (s.failures === 0 || !s.lastFailure) continue;
        out.push({
          id: `autoscale-failed:${p.name}`,
          severity: s.failures >= 3 ? 'critical' : 'warning',
          message: `autoscale of pool ${p.name}: ${s.failures} failure(s) in a row, the last: ${s.lastFailure.message}; next try after ${new Date(s.backoffUntil).toISOString()}`,
          link: '#/pools',
        });
      }
      return out;
    },
  };
}
