// Objects in kine's `value` column: the API object as JSON without its resourceVersion (the row id
// is the resourceVersion, as etcd's mod revision is). Rows become watch events the way kine turns
// them into etcd events: created -> ADDED, deleted -> DELETED (object from old_value), else MODIFIED.
import { clone, isObject, type KubeObject } from '../kube-object.js';
import type { StoreEvent } from '../object-store.js';
import type { KineRow } from './kine-row.js';
import { parseKineKey } from './kine-keys.js';

export function encodeObject(obj: KubeObject): Buffer {
  const { resourceVersion: _rv, ...meta } = obj.metadata;
  return Buffer.from(JSON.stringify({ ...obj, metadata: meta }));
}

/** The stored object with `rv` as its resourceVersion; undefined for values that are not API objects. */
export function decodeObject(bytes: Uint8Array | null, rv: number): KubeObject | undefined {
  if (!bytes || bytes.length === 0) return undefined;
  try {
    const o = JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
    if (!isObject(o) || !isObject(o.metadata) || typeof o.metadata.name !== 'string') return undefined;
    const obj = o as KubeObject;
    obj.metadata.resourceVersion = String(rv);
    return obj;
  } catch {
    return undefined;
  }
}

/** A row read back from the log as the watch event it stands for (for watches resumed from a revision). */
export function rowEvent(row: KineRow): StoreEvent | undefined {
  const key = parseKineKey(row.name);
  if (!key) return undefined;
  const before = row.created ? undefined : decodeObject(row.oldValue, row.prevRevision);
  if (row.deleted) {
    if (!before) return undefined;
    const gone = clone(before);
    gone.metadata.resourceVersion = String(row.id);
    return { type: 'DELETED', resource: key.resource, object: gone, previous: before, rv: row.id };
  }
  const object = decodeObject(row.value, row.id);
  if (!object) return undefined;
  return {
    type: row.created ? 'ADDED' : 'MODIFIED',
    resource: key.resource,
    object,
    ...(before ? { previous: before } : {}),
    rv: row.id,
  };
}
