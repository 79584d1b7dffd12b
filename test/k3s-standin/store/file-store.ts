// k3s's embedded mode for the stand-in: the cluster state in memory, saved (debounced, and at close)
// to <data-dir>/server/db/standin-state.json so a restarted server keeps its objects.
import { MemoryObjectStore } from './memory-store.js';
import type { ObjectStore } from './object-store.js';
import { StateFile } from './state-file.js';

export function openFileStore(dataDir: string): ObjectStore {
  const stateFile = new StateFile(dataDir);
  const ref: { store?: MemoryObjectStore } = {};
  const store = new MemoryObjectStore(
    stateFile.load(),
    () => {
      if (ref.store) stateFile.schedule(() => (ref.store as MemoryObjectStore).snapshot());
    },
    () => stateFile.flush(store.snapshot()),
  );
  ref.store = store;
  return store;
}
