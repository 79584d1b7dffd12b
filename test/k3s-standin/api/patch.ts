// The three patch types kubectl and @kubernetes/client-node send: JSON merge patch (RFC 7386),
// strategic merge patch (merge keys for the fields the stand-in's objects use), JSON patch (RFC 6902).
import { clone, isObject, type JsonObject } from '../store/kube-object.js';
import { errors } from './api-error.js';

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** patchMergeKey of list fields (k8s.io/api struct tags); lists not named here are replaced. */
const MERGE_KEYS: Readonly<Record<string, string>> = {
  conditions: 'type',
  addresses: 'type',
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  env: 'name',
  ports: 'containerPort',
  ownerReferences: 'uid',
  imagePullSecrets: 'name',
  containerStatuses: 'name',
  images: 'names',
};
/** Primitive lists with patchStrategy merge. */
const MERGE_PRIMITIVES = new Set(['finalizers']);

function mergeList(field: string, target: unknown[], patch: unknown[]): unknown[] {
  const key = MERGE_KEYS[field];
  if (MERGE_PRIMITIVES.has(field)) {
    const out = [...target];
    for (const v of patch) if (!out.includes(v)) out.push(v);
    return out;
  }
  if (!key) return patch.filter((p) => !(isObject(p) && p.$patch === 'delete')).map((p) => clone(p));
  const out = target.map((x) => clone(x));
  for (const item of patch) {
    if (!isObject(item)) continue;
    if (item.$patch === 'replace')
      return patch.filter((p) => !(isObject(p) && p.$patch === 'replace')).map((p) => clone(p));
    const idx = out.findIndex((x) => isObject(x) && x[key] === item[key]);
    if (item.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
    } else if (idx >= 0) {
      out[idx] = strategicMergePatch(out[idx], item);
    } else {
      out.push(strategicMergePatch({}, item));
    }
  }
  return out;
}

export function strategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  if (patch.$patch === 'replace') {
    const rest = clone(patch);
    delete rest.$patch;
    return rest;
  }
  if (patch.$patch === 'delete') return undefined;
  let out: JsonObject = isObject(target) ? clone(target) : {};
  const retain = Array.isArray(patch.$retainKeys) ? new Set(patch.$retainKeys as string[]) : undefined;
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const f = k.slice('$deleteFromPrimitiveList/'.length);
      const cur = out[f];
      if (Array.isArray(cur) && Array.isArray(v)) out[f] = cur.filter((x) => !v.includes(x));
      continue;
    }
    if (v === null) {
      delete out[k];
    } else if (Array.isArray(v)) {
      const cur = out[k];
      out[k] = mergeList(k, Array.isArray(cur) ? cur : [], v);
    } else if (isObject(v)) {
      const merged = strategicMergePatch(out[k], v);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    } else {
      out[k] = v;
    }
  }
  if (retain) out = Object.fromEntries(Object.entries(out).filter(([k]) => retain.has(k)));
  return out;
}

interface Op {
  op: string;
  path: string;
  value?: unknown;
  from?: string;
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw errors.badRequest(`invalid JSON pointer: ${path}`);
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: unknown, parts: string[]): { parent: unknown; last: string } {
  let cur = doc;
  for (const p of parts.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(p)];
    else if (isObject(cur)) cur = cur[p];
    else cur = undefined;
    if (cur === undefined) throw errors.invalidPatch(`doc is missing path: ${'/' + parts.join('/')}`);
  }
  return { parent: cur, last: parts[parts.length - 1] ?? '' };
}

function getAt(doc: unknown, parts: string[]): unknown {
  let cur = doc;
  for (const p of parts) {
    if (Array.isArray(cur)) cur = cur[Number(p)];
    else if (isObject(cur)) cur = cur[p];
    else return undefined;
  }
  return cur;
}

function removeAt(doc: unknown, parts: string[]): unknown {
  const { parent, last } = parentOf(doc, parts);
  if (Array.isArray(parent)) {
    const i = Number(last);
    if (!(i >= 0 && i < parent.length))
      throw errors.invalidPatch(`Unable to remove nonexistent key: ${last}: missing value`);
    return parent.splice(i, 1)[0];
  }
  if (!isObject(parent) || !(last in parent))
    throw errors.invalidPatch(`Unable to remove nonexistent key: ${last}: missing value`);
  const v = parent[last];
  delete parent[last];
  return v;
}

function addAt(doc: unknown, parts: string[], value: unknown, replace: boolean): unknown {
  if (parts.length === 0) return clone(value);
  const { parent, last } = parentOf(doc, parts);
  if (Array.isArray(parent)) {
    if (last === '-') parent.push(clone(value));
    else {
      const i = Number(last);
      if (!(i >= 0 && i <= parent.length)) throw errors.invalidPatch(`add operation index out of bounds: ${last}`);
      if (replace) parent[i] = clone(value);
      else parent.splice(i, 0, clone(value));
    }
  } else if (isObject(parent)) {
    if (replace && !(last in parent))
      throw errors.invalidPatch(
        `replace operation does not apply: doc is missing key: ${'/' + parts.join('/')}: missing value`,
      );
    parent[last] = clone(value);
  } else {
    throw errors.invalidPatch(`doc is missing path: ${'/' + parts.join('/')}`);
  }
  return doc;
}

export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops))
    throw errors.badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let doc = clone(target);
  for (const raw of ops as Op[]) {
    const parts = pointer(raw.path);
    switch (raw.op) {
      case 'add':
        doc = addAt(doc, parts, raw.value, false);
        break;
      case 'replace':
        doc = addAt(doc, parts, raw.value, true);
        break;
      case 'remove':
        removeAt(doc, parts);
        break;
      case 'move': {
        const v = removeAt(doc, pointer(raw.from ?? ''));
        doc = addAt(doc, parts, v, false);
        break;
      }
      case 'copy':
        doc = addAt(doc, parts, getAt(doc, pointer(raw.from ?? '')), false);
        break;
      case 'test':
        if (JSON.stringify(getAt(doc, parts)) !== JSON.stringify(raw.value))
          throw errors.invalidPatch(`testing value ${raw.path} failed: test failed`);
        break;
      default:
        throw errors.badRequest(`Unexpected kind: ${String(raw.op)}`);
    }
  }
  return doc;
}

export type PatchType = 'json' | 'merge' | 'strategic';

export function patchTypeOf(contentType: string | undefined): PatchType | undefined {
  const ct = (contentType ?? '').split(';')[0]?.trim();
  if (ct === 'application/json-patch+json') return 'json';
  if (ct === 'application/merge-patch+json') return 'merge';
  if (ct === 'application/strategic-merge-patch+json') return 'strategic';
  return undefined;
}

export function applyPatch(type: PatchType, target: unknown, patch: unknown): unknown {
  if (type === 'json') return jsonPatch(target, patch);
  if (type === 'merge') return mergePatch(target, patch);
  return strategicMergePatch(target, patch);
}
