// The object store on kine's table (k3s --datastore-endpoint postgres://...). Every write appends a
// row through a compare-and-swap on (name, prev_revision); this server's view is the newest row per
// name, loaded at start and advanced by polling `id > last` every second in batches (no
// LISTEN/NOTIFY) and after each of its own writes, so what another server writes shows here within
// about a second. Gaps left by failed inserts are filled with gap-N rows; keys written with a TTL
// (etcd leases) are deleted when not rewritten in time; compaction keeps the newest revisions.
import { clone, type KubeObject } from '../kube-object.js';
import { StoreConflictError, type ObjectStore, type PutOptions, type StoreEvent } from '../object-store.js';
import type { Logger } from '../../util/log.js';
import type { CompactResult, KineRow, WriteResult } from './kine-row.js';
import { kineKey, parseKineKey, REGISTRY_PREFIX } from './kine-keys.js';
import { decodeObject, encodeObject, rowEvent } from './kine-codec.js';
import { DatastoreError, DatastoreTimeoutError, type SyncBridge } from './sync-bridge.js';

export interface KineStoreOptions {
  readonly log: Logger;
  /** How often to read new rows (kine: 1 s). */
  readonly pollMs: number;
  /** How often to compact (kine: 5 min); 0 turns compaction off. */
  readonly compactMs: number;
  /** Revisions compaction never touches (kine: 1000). */
  readonly compactRetain: number;
  /** Called when the datastore stops answering in time: k3s exits. */
  readonly onFatal: (e: Error) => void;
}

const BATCH = 500;
const WATCH_REPLAY_LIMIT = 10_000;
const keyOf = (ns: string | undefined, name: string): string => `${ns ?? ''}/${name}`;

export class KineObjectStore implements ObjectStore {
  private readonly cache = new Map<string, Map<string, KubeObject>>();
  private readonly listeners = new Set<(e: StoreEvent) => void>();
  /** kine's TTL: key -> row id and local expiry of keys written with a lease. */
  private readonly leases = new Map<string, { id: number; expiresAt: number }>();
  private readonly timers: NodeJS.Timeout[] = [];
  private last = 0;
  private gap = 0;

  constructor(
    private readonly bridge: SyncBridge,
    private readonly o: KineStoreOptions,
  ) {}

  /** Loads every object at the current revision, then starts polling and compacting. */
  start(): void {
    const { rev, rows } = this.bridge.call<{ rev: number; rows: KineRow[] }>('list', REGISTRY_PREFIX);
    for (const row of rows) this.apply(row, false);
    this.last = rev;
    this.timers.push(setInterval(() => this.background('list latest changes', () => this.tick()), this.o.pollMs));
    if (this.o.compactMs > 0)
      this.timers.push(setInterval(() => this.background('compact', () => this.compact()), this.o.compactMs));
  }

  resourceVersion(): number {
    return this.last;
  }

  get(resource: string, ns: string | undefined, name: string): KubeObject | undefined {
    const o = this.cache.get(resource)?.get(keyOf(ns, name));
    return o ? clone(o) : undefined;
  }

  list(resource: string, ns?: string): KubeObject[] {
    const m = this.cache.get(resource);
    if (!m) return [];
    return [...m.entries()]
      .filter(([, o]) => ns === undefined || o.metadata.namespace === ns)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, o]) => clone(o));
  }

  put(resource: string, obj: KubeObject, opts: PutOptions = {}): KubeObject {
    const { namespace: ns, name } = obj.metadata;
    const key = kineKey(resource, ns, name);
    const cached = this.cache.get(resource)?.get(keyOf(ns, name));
    const value = encodeObject(obj);
    const lease = opts.ttlSeconds ?? 0;
    const r = cached
      ? this.bridge.call<WriteResult>('update', key, value, Number(cached.metadata.resourceVersion), lease)
      : this.bridge.call<WriteResult>('create', key, value, lease);
    if (!r.ok) {
      this.catchUp();
      throw new StoreConflictError(`${key}: ${r.reason}`);
    }
    this.catchUp(r.id);
    const out = clone(obj);
    out.metadata.resourceVersion = String(r.id);
    return out;
  }

  remove(resource: string, ns: string | undefined, name: string): KubeObject | undefined {
    const cached = this.cache.get(resource)?.get(keyOf(ns, name));
    if (!cached) return undefined;
    const key = kineKey(resource, ns, name);
    const r = this.bridge.call<WriteResult>('delete', key, Number(cached.metadata.resourceVersion));
    if (!r.ok) {
      this.catchUp();
      if (r.reason === 'gone') return undefined;
      throw new StoreConflictError(`${key}: ${r.reason}`);
    }
    this.catchUp(r.id);
    const gone = clone(cached);
    gone.metadata.resourceVersion = String(r.id);
    return gone;
  }

  /** Replays the log after `rv` (410 when compaction removed it or it is too far back). */
  eventsSince(rv: number): StoreEvent[] | 'expired' {
    if (rv < this.bridge.call<number>('compactRev')) return 'expired';
    const out: StoreEvent[] = [];
    let from = rv;
    while (from < this.last) {
      const rows = this.bridge.call<KineRow[]>('after', from, BATCH);
      if (rows.length === 0) break;
      for (const row of rows) {
        if (row.id > this.last) return out;
        from = row.id;
        const e = rowEvent(row);
        if (e) out.push(e);
      }
      if (from - rv > WATCH_REPLAY_LIMIT) return 'expired';
    }
    return out;
  }

  subscribe(fn: (e: StoreEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  refresh(): void {
    this.catchUp();
  }

  close(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    this.bridge.close();
  }

  /** Applies new rows in id order until `until` is applied; waits out, then fills, gaps in the ids. */
  private catchUp(until = 0): void {
    for (let round = 0; round < 100; round++) {
      const rows = this.bridge.call<KineRow[]>('after', this.last, BATCH);
      let stalled = false;
      for (const row of rows) {
        if (row.id <= this.last) continue; // applied by a catch-up a listener started
        if (row.id !== this.last + 1) {
          stalled = true;
          this.onGap(this.last + 1);
          break;
        }
        this.last = row.id;
        this.apply(row, true);
      }
      if (!stalled && rows.length < BATCH && this.last >= until) return;
    }
    if (this.last < until) throw new DatastoreError(`could not read back revision ${until} (at ${this.last})`);
  }

  /** kine: a missing id is first given a moment (an insert still committing), then filled with gap-N. */
  private onGap(next: number): void {
    if (this.gap !== next) {
      this.gap = next;
      this.bridge.pause(5);
      return;
    }
    if (this.bridge.call<boolean>('fill', next)) this.o.log.debug(`FILL, revision=${next}`);
  }

  private apply(row: KineRow, emit: boolean): void {
    if (row.lease > 0 && !row.deleted)
      this.leases.set(row.name, { id: row.id, expiresAt: Date.now() + row.lease * 1000 });
    else this.leases.delete(row.name);
    const key = parseKineKey(row.name);
    if (!key) return;
    const m = this.cache.get(key.resource) ?? new Map<string, KubeObject>();
    this.cache.set(key.resource, m);
    const k = keyOf(key.ns, key.name);
    const previous = m.get(k);
    if (row.deleted) {
      m.delete(k);
      const before = previous ?? decodeObject(row.oldValue, row.prevRevision);
      if (!before || !emit) return;
      const gone = clone(before);
      gone.metadata.resourceVersion = String(row.id);
      this.emit({ type: 'DELETED', resource: key.resource, object: gone, previous: clone(before), rv: row.id });
      return;
    }
    const obj = decodeObject(row.value, row.id);
    if (!obj) return;
    m.set(k, obj);
    if (!emit) return;
    this.emit({
      type: previous && !row.created ? 'MODIFIED' : 'ADDED',
      resource: key.resource,
      object: clone(obj),
      ...(previous ? { previous: clone(previous) } : {}),
      rv: row.id,
    });
  }

  private emit(e: StoreEvent): void {
    for (const fn of [...this.listeners]) fn(e);
  }

  private tick(): void {
    this.catchUp();
    const now = Date.now();
    let expired = false;
    for (const [name, l] of [...this.leases]) {
      if (l.expiresAt > now) continue;
      this.leases.delete(name);
      expired = this.bridge.call<WriteResult>('delete', name, l.id).ok || expired;
    }
    if (expired) this.catchUp();
  }

  private compact(): void {
    const r = this.bridge.call<CompactResult | undefined>('compact', this.o.compactRetain, 1000);
    if (r) this.o.log.info(`COMPACT compacted from ${r.from} to ${r.to}: deleted ${r.deleted} rows`);
  }

  private background(what: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      if (e instanceof DatastoreTimeoutError) this.o.onFatal(e);
      else this.o.log.error(`Failed to ${what}: ${(e as Error).message}`);
    }
  }
}
