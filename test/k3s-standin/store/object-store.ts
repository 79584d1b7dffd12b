// The cluster state: objects by resource, one resourceVersion counter, a bounded event history
// for watches, and listeners (the controllers). Persistence is the caller's job (see state-file.ts).
import { clone, type KubeObject } from './kube-object.js';

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

const HISTORY_LIMIT = 5000;

const keyOf = (ns: string | undefined, name: string): string => `${ns ?? ''}/${name}`;

export class ObjectStore {
  private readonly byResource = new Map<string, Map<string, KubeObject>>();
  private readonly history: StoreEvent[] = [];
  private readonly listeners = new Set<(e: StoreEvent) => void>();
  private rv: number;
  /** Oldest resourceVersion from which a watch can be resumed. */
  private horizon: number;

  constructor(
    initial: StoreSnapshot | undefined,
    private readonly onChange: () => void,
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
    for (const [r, m] of this.byResource) objects[r] = [...m.values()];
    return { resourceVersion: this.rv, objects };
  }

  get(resource: string, ns: string | undefined, name: string): KubeObject | undefined {
    const o = this.byResource.get(resource)?.get(keyOf(ns, name));
    return o ? clone(o) : undefined;
  }

  /** Objects of a resource, optionally in one namespace, sorted by namespace/name like etcd keys. */
  list(resource: string, ns?: string): KubeObject[] {
    const m = this.byResource.get(resource);
    if (!m) return [];
    return [...m.entries()]
      .filter(([, o]) => ns === undefined || o.metadata.namespace === ns)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, o]) => clone(o));
  }

  /** Stores an object, stamping a new resourceVersion; returns the stored copy. */
  put(resource: string, obj: KubeObject): KubeObject {
    const m = this.byResource.get(resource) ?? new Map<string, KubeObject>();
    this.byResource.set(resource, m);
    const key = keyOf(obj.metadata.namespace, obj.metadata.name);
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
    this.rv += 1;
    const gone = clone(previous);
    gone.metadata.resourceVersion = String(this.rv);
    this.emit({ type: 'DELETED', resource, object: clone(gone), previous: clone(previous), rv: this.rv });
    return gone;
  }

  /** Events after `rv`, or 'expired' when they are no longer kept (watch answers 410 Gone). */
  eventsSince(rv: number): StoreEvent[] | 'expired' {
    if (rv < this.horizon) return 'expired';
    return this.history.filter((e) => e.rv > rv);
  }

  subscribe(fn: (e: StoreEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
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
