// How the conformance suite gets a fresh, empty store per test: one per backend (sqlite.conformance.test.ts).
import type { TestContext } from 'node:test';
import type { Store } from '../../../../hub/store/index.js';

export type StoreFactory = () => Promise<{ store: Store; cleanup(): Promise<void> }>;
export type OpenStore = (t: TestContext) => Promise<Store>;

/** A fresh store for one test, cleaned up (closed, removed) after it, also when it fails. */
export function opener(factory: StoreFactory): OpenStore {
  return async (t) => {
    const { store, cleanup } = await factory();
    t.after(cleanup);
    return store;
  };
}
