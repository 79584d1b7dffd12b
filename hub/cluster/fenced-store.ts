// The store a singleton writes through: its writes in a role carry this hub's fence (leadership.ts),
// so the database refuses them (LEASE_LOST) once another hub has taken the role over.
import type { Store } from '../store/types.js';
import type { Leadership, Role } from './leadership.js';

/** The fenced methods and the position of their `fence` argument. */
const FENCED: Partial<Record<keyof Store, number>> = {
  saveRollout: 1,
  saveAutohealRecords: 1,
  setAutohealPacing: 2,
  widenAutohealPacing: 2,
  // A singleton's own state in settings (autoscale targets and machines, lifespan replacements).
  setSetting: 2,
  updateSetting: 2,
};

export function fencedStore(store: Store, leadership: Leadership, role: Role): Store {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      const at = FENCED[prop as keyof Store];
      if (at === undefined) return (value as (...a: unknown[]) => unknown).bind(target);
      return (...args: unknown[]) => {
        try {
          const full = [...args];
          full.length = Math.max(full.length, at);
          full[at] = leadership.fence(role);
          return (value as (...a: unknown[]) => unknown).apply(target, full);
        } catch (err) {
          return Promise.reject(err);
        }
      };
    },
  });
}
