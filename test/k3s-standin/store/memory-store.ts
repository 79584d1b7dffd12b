// The cluster state in memory: objects by resource, one resourceVersion counter, a bounded event
// history for watches, and listeners (the controllers). Persistence is the caller's job (see
// file-store.ts). Objects written with a TTL are ephemeral: they expire and are never persisted.
import { clone, type KubeObject } from './kube-object.js';
import type { ObjectStore, PutOptions, StoreEvent, StoreSnapshot } from './object-store.js';

const HISTORY_LIMIT = 5000;

const keyOf = (ns: string | undefined, name: string): string => `${ns ?? ''}/${name}`;

export class MemoryObjectStore implements ObjectStore {
  private readonly byResource = new Map<string, Map<string, KubeObject>>();
  /** resource -> key -> expiry (ms since epoch) of objects written with a TTL. */
  private readonly expiries = new Map<string, Map<string, number>>();
  private readonly history: StoreEvent[] = [];
  private readonly listeners = new Set<(e: StoreEvent) => void>();
  private rv: number;
  /** Oldest resourceVersion from which a watch can be resumed. */
  private horizon: number;

  constructor(
    initial: StoreSnapshot | undefined,
    private readonly onChange: () => void,
    private readonly onClose: () => void = () => undefined,
  ) {
    this.rv = initial?.resourceVersion ?? 1;
    this.horizon = this.rv;
    for (const [resource, objs] of Object.entries(initial?.objects ?? {})) {
      const m = new Map<string, KubeObject>();
      for (const o of objs) m.set(keyOf(o.metadata.namespace, o.metadata.name), clone(o));
      this.byResource.set(resource, m);
    }
  }

  resourceVersion(): number {
    return this.rv;
  }

  snapshot(): StoreSnapshot {
    const objects: Record<string, KubeObject[]> = {};
    for (const [r, m] of this.byResource) {
      const ephemeral = this.expiries.get(r);
      objects[r] = [...m.entries()].filter(([k]) => !ephemeral?.has(k)).map(([, o]) => o);
    }
    return { resourceVersion: this.rv, objects };
  }

  get(resource: string, ns: string | undefined, name: string): KubeObject | undefined {
    this.expire(resource);
    const o = this.byResource.get(resource)?.get(keyOf(ns, name));
    return o ? clone(o) : undefined;
  }

  /** Objects of a resource, optionally in one namespace, sorted by namespace/name like etcd keys. */
  list(resource: string, ns?: string): KubeObject[] {
    this.expire(resource);
    const m = this.byResource.get(resource);
    if (!m) return [];
    return [...m.entries()]
      .filter(([, o]) => ns === undefined || o.metadata.namespace === ns)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, o]) => clone(o));
  }

  put(resource: string, obj: KubeObject, opts: PutOptions = {}): KubeObject {
    const m = this.byResource.get(resource) ?? new Map<string, KubeObject>();
    this.byResource.set(resource, m);
    const key = keyOf(obj.metadata.namespace, obj.metadata.name);
    const ttls = this.expiries.get(resource) ?? new Map<string, number>();
    if (opts.ttlSeconds) this.expiries.set(resource, ttls.set(key, Date.now() + opts.ttlSeconds * 1000));
    else ttls.delete(key);
    const previous = m.get(key);
    const stored = clone(obj);
    this.rv += 1;
    stored.metadata.resourceVersion = String(this.rv);
    m.set(key, stored);
    this.emit({
      type: previous ? 'MODIFIED' : 'ADDED',
      resource,
      object: clone(stored),
      ...(previous ? { previous: clone(previous) } : {}),
      rv: this.rv,
    });
    return clone(stored);
  }

  remove(resource: string, ns: string | undefined, name: string): KubeObject | undefined {
    const m = this.byResource.get(resource);
    const key = keyOf(ns, name);
    const previous = m?.get(key);
    if (!m || !previous) return undefined;
    m.delete(key);
    this.expiries.get(resource)?.delete(key);
    this.rv += 1;
    const gone = clone(previous);
    gone.metadata.resourceVersion = String(this.rv);
    this.emit({ type: 'DELETED', resource, object: clone(gone), previous: clone(previous), rv: this.rv });
    return gone;
  }

  eventsSince(rv: number): StoreEvent[] | 'expired' {
    if (rv < this.horizon) return 'expired';
    return this.history.filter((e) => e.rv > rv);
  }

  subscribe(fn: (e: StoreEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  refresh(): void {
    // the only writer: nothing to catch up with
  }

  close(): void {
    this.onClose();
  }

  private expire(resource: string): void {
    const ttls = this.expiries.get(resource);
    if (!ttls?.size) return;
    const now = Date.now();
    for (const [key, at] of [...ttls]) {
      if (at > now) continue;
      const o = this.byResource.get(resource)?.get(key);
      if (o) this.remove(resource, o.metadata.namespace, o.metadata.name);
      ttls.delete(key);
    }
  }

  private emit(e: StoreEvent): void {
    this.history.push(e);
    if (this.history.length > HISTORY_LIMIT) {
      const dropped = this.history.splice(0, this.history.length - HISTORY_LIMIT);
      this.horizon = dropped[dropped.length - 1]?.rv ?? this.horizon;
    }
    this.onChange();
    for (const fn of [...this.listeners]) fn(e);
  }
}
