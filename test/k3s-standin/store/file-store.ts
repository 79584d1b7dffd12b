// k3s's embedded datastores for the stand-in: the cluster state in memory, saved (debounced, and at
// close) to a JSON file so a restarted server keeps its objects: server/db/standin-state.json by
// default, the etcd member's file with embedded etcd (etcd-files.ts).
import { MemoryObjectStore } from './memory-store.js';
import type { StoreSnapshot } from './object-store.js';
import { StateFile } from './state-file.js';

export function openFileStore(path: string, initial?: StoreSnapshot): MemoryObjectStore {
  const stateFile = new StateFile(path);
  const ref: { store?: MemoryObjectStore } = {};
  const existing = stateFile.load();
  const store = new MemoryObjectStore(
    existing ?? initial,
    () => {
      if (ref.store) stateFile.schedule(() => (ref.store as MemoryObjectStore).snapshot());
    },
    () => stateFile.flush(store.snapshot()),
  );
  ref.store = store;
  if (!existing && initial) stateFile.flush(store.snapshot());
  return store;
}
