// The seam between the API and where cluster state lives: one interface, two implementations —
// memory-store.ts (kept in a JSON file by file-store.ts; k3s's embedded mode) and kine/kine-store.ts
// (rows in a PostgreSQL `kine` table, as k3s's external datastore).
import type { KubeObject } from './kube-object.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  readonly type: EventType;
  /** Storage key of the resource type, e.g. "pods" or "daemonsets.apps". */
  readonly resource: string;
  readonly object: KubeObject;
  readonly previous?: KubeObject;
  readonly rv: number;
}

export interface StoreSnapshot {
  readonly resourceVersion: number;
  readonly objects: Readonly<Record<string, readonly KubeObject[]>>;
}

export interface PutOptions {
  /** The object disappears this long after its last write unless written again (an etcd lease). */
  readonly ttlSeconds?: number;
}

/** Another writer changed the object first: the compare-and-swap was lost (reads are now fresh). */
export class StoreConflictError extends Error {
  readonly code = 'STORE_CONFLICT';
}

export interface ObjectStore {
  /** The newest revision this store has seen. */
  resourceVersion(): number;
  get(resource: string, ns: string | undefined, name: string): KubeObject | undefined;
  /** Objects of a resource, optionally in one namespace, sorted by namespace/name like etcd keys. */
  list(resource: string, ns?: string): KubeObject[];
  /** Stores an object, stamping a new resourceVersion; returns the stored copy. */
  put(resource: string, obj: KubeObject, opts?: PutOptions): KubeObject;
  remove(resource: string, ns: string | undefined, name: string): KubeObject | undefined;
  /** Events after `rv`, or 'expired' when they are no longer kept (watch answers 410 Gone). */
  eventsSince(rv: number): StoreEvent[] | 'expired';
  subscribe(fn: (e: StoreEvent) => void): () => void;
  /** Catches up with writes made by other servers (a no-op when this process is the only writer). */
  refresh(): void;
  /** Saves what must be saved and stops background work. */
  close(): void;
}
