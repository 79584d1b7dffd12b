// Create/get/list/update/patch/delete with the apiserver's rules (uids, resourceVersion conflicts,
// generation, status subresources, namespaces that must exist). Used by the HTTP handlers, the
// supervisor and the controllers alike.
import { randomUUID } from 'node:crypto';
import { clone, isObject, type JsonObject, type KubeObject } from '../store/kube-object.js';
import { StoreConflictError, type ObjectStore } from '../store/object-store.js';
import { groupVersion, storageKey, RESOURCE_TYPES, type ResourceType } from '../store/resource-types.js';
import { applyPatch, type PatchType } from './patch.js';
import { errors } from './api-error.js';
import { kubeTime } from '../util/go-time.js';
import { generateNameSuffix } from '../util/random.js';
import { applyCreateDefaults } from './create-defaults.js';

export interface WriteOptions {
  readonly subresource?: 'status';
  readonly dryRun?: boolean;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** How often a write without a client-given resourceVersion is retried after losing a race (GuaranteedUpdate). */
const CONFLICT_RETRIES = 5;

/** Types whose metadata.generation the apiserver maintains. */
const GENERATION = new Set(['deployments', 'replicasets', 'daemonsets', 'statefulsets', 'poddisruptionbudgets']);

function specPart(o: KubeObject): string {
  const { metadata: _m, status: _s, ...rest } = o;
  return JSON.stringify(rest);
}

export class ResourceService {
  constructor(
    private readonly store: ObjectStore,
    private readonly now: () => Date = () => new Date(),
  ) {}

  get(rt: ResourceType, ns: string | undefined, name: string): KubeObject {
    const o = this.store.get(storageKey(rt), rt.namespaced ? ns : undefined, name);
    if (!o) throw errors.notFound(rt, name);
    return o;
  }

  find(rt: ResourceType, ns: string | undefined, name: string): KubeObject | undefined {
    return this.store.get(storageKey(rt), rt.namespaced ? ns : undefined, name);
  }

  list(rt: ResourceType, ns?: string): KubeObject[] {
    return this.store.list(storageKey(rt), rt.namespaced ? ns : undefined);
  }

  resourceVersion(): number {
    return this.store.resourceVersion();
  }

  create(rt: ResourceType, ns: string | undefined, body: unknown, opts: WriteOptions = {}): KubeObject {
    if (!isObject(body) || !isObject(body.metadata)) throw errors.badRequest("Object 'metadata' is missing in '{}'");
    const obj = clone(body) as KubeObject;
    const meta = obj.metadata;
    if (!meta.name && typeof meta.generateName === 'string') meta.name = `${meta.generateName}${generateNameSuffix()}`;
    if (!meta.name) throw errors.invalid(rt, '', 'metadata.name', 'Required value: name or generateName is required');
    if (!DNS_SUBDOMAIN.test(meta.name) || meta.name.length > 253) {
      throw errors.invalid(
        rt,
        meta.name,
        'metadata.name',
        `Invalid value: "${meta.name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
      );
    }
    if (rt.namespaced) {
      const target = ns ?? meta.namespace ?? 'default';
      if (meta.namespace && ns && meta.namespace !== ns)
        throw errors.badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      if (!this.store.get('namespaces', undefined, target)) throw errors.namespaceNotFound(target);
      meta.namespace = target;
    } else {
      delete meta.namespace;
    }
    if (this.store.get(storageKey(rt), meta.namespace, meta.name)) throw errors.alreadyExists(rt, meta.name);
    obj.apiVersion = groupVersion(rt);
    obj.kind = rt.kind;
    meta.uid = randomUUID();
    meta.creationTimestamp = kubeTime(this.now());
    if (GENERATION.has(rt.plural)) meta.generation = 1;
    else delete meta.generation;
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    applyCreateDefaults(rt, obj);
    if (opts.dryRun) return obj;
    try {
      return this.store.put(storageKey(rt), obj);
    } catch (e) {
      if (e instanceof StoreConflictError) throw errors.alreadyExists(rt, meta.name);
      throw e;
    }
  }

  update(rt: ResourceType, ns: string | undefined, name: string, body: unknown, opts: WriteOptions = {}): KubeObject {
    if (!isObject(body) || !isObject(body.metadata)) throw errors.badRequest("Object 'metadata' is missing");
    const rv = body.metadata.resourceVersion;
    return this.retrying(rt, name, rv === undefined || rv === '', () => {
      const current = this.get(rt, ns, name);
      const next = clone(body) as KubeObject;
      if (next.metadata.name && next.metadata.name !== name)
        throw errors.badRequest('the name of the object does not match the name on the URL');
      if (rv !== undefined && rv !== '' && rv !== current.metadata.resourceVersion) throw errors.conflict(rt, name);
      return this.write(rt, current, next, opts);
    });
  }

  patch(
    rt: ResourceType,
    ns: string | undefined,
    name: string,
    type: PatchType,
    patch: unknown,
    opts: WriteOptions = {},
  ): KubeObject {
    const pinned = isObject(patch) && isObject(patch.metadata) && patch.metadata.resourceVersion !== undefined;
    return this.retrying(rt, name, !pinned, () => {
      const current = this.get(rt, ns, name);
      const patched = applyPatch(type, current, patch);
      if (!isObject(patched) || !isObject(patched.metadata)) throw errors.invalidPatch('metadata is required');
      const next = patched as KubeObject;
      const rv = next.metadata.resourceVersion;
      if (rv !== undefined && rv !== current.metadata.resourceVersion) throw errors.conflict(rt, name);
      return this.write(rt, current, next, opts);
    });
  }

  /** Read-modify-write for in-process callers (controllers, supervisor). */
  mutate(
    rt: ResourceType,
    ns: string | undefined,
    name: string,
    fn: (o: KubeObject) => void,
    opts: WriteOptions = {},
  ): KubeObject {
    return this.retrying(rt, name, true, () => {
      const current = this.get(rt, ns, name);
      const next = clone(current);
      fn(next);
      return this.write(rt, current, next, opts);
    });
  }

  delete(rt: ResourceType, ns: string | undefined, name: string, options: unknown = {}, dryRun = false): KubeObject {
    return this.retrying(rt, name, true, () => this.deleteOnce(rt, ns, name, options, dryRun));
  }

  /**
   * Runs a read-modify-write; when another server wrote the object first, either tries again on the
   * fresh object (no resourceVersion given) or answers 409 Conflict like the apiserver.
   */
  private retrying<T>(rt: ResourceType, name: string, retry: boolean, fn: () => T): T {
    for (let attempt = 1; ; attempt++) {
      try {
        return fn();
      } catch (e) {
        if (!(e instanceof StoreConflictError)) throw e;
        if (!retry || attempt >= CONFLICT_RETRIES) throw errors.conflict(rt, name);
      }
    }
  }

  private deleteOnce(
    rt: ResourceType,
    ns: string | undefined,
    name: string,
    options: unknown,
    dryRun: boolean,
  ): KubeObject {
    const current = this.get(rt, ns, name);
    const pre = isObject(options) && isObject(options.preconditions) ? options.preconditions : undefined;
    if (pre && typeof pre.uid === 'string' && pre.uid !== current.metadata.uid) {
      throw errors.conflict(
        rt,
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid ?? ''}`,
      );
    }
    if (pre && typeof pre.resourceVersion === 'string' && pre.resourceVersion !== current.metadata.resourceVersion) {
      throw errors.conflict(
        rt,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion ?? ''}`,
      );
    }
    if (dryRun) return current;
    if (rt.plural === 'namespaces' && rt.group === '') {
      for (const other of RESOURCE_TYPES.filter((r) => r.namespaced)) {
        for (const o of this.store.list(storageKey(other), name))
          this.store.remove(storageKey(other), name, o.metadata.name);
      }
    }
    const gone = this.store.remove(storageKey(rt), rt.namespaced ? ns : undefined, name) ?? current;
    gone.apiVersion = groupVersion(rt);
    gone.kind = rt.kind;
    return gone;
  }

  private write(rt: ResourceType, current: KubeObject, next: KubeObject, opts: WriteOptions): KubeObject {
    let out: KubeObject;
    if (opts.subresource === 'status') {
      out = clone(current);
      if (next.status !== undefined) out.status = clone(next.status);
      else delete out.status;
    } else {
      out = next;
      if (rt.hasStatus) {
        if (current.status !== undefined) out.status = clone(current.status);
        else delete out.status;
      }
      out.metadata = { ...next.metadata };
      delete out.metadata.generation;
      if (GENERATION.has(rt.plural)) {
        out.metadata.generation = (current.metadata.generation ?? 1) + (specPart(current) !== specPart(out) ? 1 : 0);
      }
    }
    const meta = out.metadata;
    meta.name = current.metadata.name;
    if (current.metadata.namespace !== undefined) meta.namespace = current.metadata.namespace;
    meta.uid = current.metadata.uid as string;
    meta.creationTimestamp = current.metadata.creationTimestamp as string;
    out.apiVersion = groupVersion(rt);
    out.kind = rt.kind;
    delete (out as JsonObject).stringData;
    if (opts.dryRun) return out;
    if (
      JSON.stringify({ ...out, metadata: { ...out.metadata, resourceVersion: '' } }) ===
      JSON.stringify({ ...current, metadata: { ...current.metadata, resourceVersion: '' } })
    ) {
      return current;
    }
    return this.store.put(storageKey(rt), out);
  }
}
