// The Kubernetes API half of the listener: discovery, /version, health endpoints and REST verbs on
// the served resource types. Callers have already authenticated the request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { findType, groupVersion, storageKey, type ResourceType } from '../store/resource-types.js';
import type { ObjectStore } from '../store/object-store.js';
import type { KubeObject } from '../store/kube-object.js';
import type { BuildInfo } from '../version.js';
import { ApiError, errors } from './api-error.js';
import { parseJsonBody, readBody, sendJson, sendStatus, sendText } from './http-io.js';
import { apiGroup, apiGroupList, apiVersions, resourceList, versionInfo } from './discovery.js';
import { patchTypeOf } from './patch.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import { toTable, wantsTable, type IncludeObject } from './table.js';
import { serveWatch } from './kube-watch.js';
import { evictPod } from './eviction.js';
import type { ResourceService } from './resource-service.js';

export interface KubeApiDeps {
  readonly store: ObjectStore;
  readonly svc: ResourceService;
  readonly build: BuildInfo;
  readonly serverAddress: string;
}

interface Target {
  rt: ResourceType;
  namespace?: string;
  name?: string;
  sub?: string;
}

/** Splits /api/v1/... and /apis/<g>/<v>/... into resource, namespace, name, subresource. */
function resolve(parts: string[]): Target | undefined {
  let group = '';
  let rest: string[];
  if (parts[0] === 'api' && parts[1] === 'v1') rest = parts.slice(2);
  else if (parts[0] === 'apis' && parts.length >= 3) {
    group = parts[1] as string;
    if (parts[2] !== 'v1') return undefined;
    rest = parts.slice(3);
  } else return undefined;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const rt = findType(group, 'v1', rest[2] as string);
    if (rt?.namespaced) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
  }
  const rt = findType(group, 'v1', rest[0] ?? '');
  if (!rt || rest.length > 3) return undefined;
  if (rest[2] !== undefined && !rt.subresources.includes(rest[2])) return undefined;
  return {
    rt,
    ...(namespace !== undefined ? { namespace } : {}),
    ...(rest[1] !== undefined ? { name: rest[1] } : {}),
    ...(rest[2] !== undefined ? { sub: rest[2] } : {}),
  };
}

function stripTypeMeta(o: KubeObject): KubeObject {
  const { apiVersion: _a, kind: _k, ...rest } = o;
  return rest as KubeObject;
}

/** Pods come back as the deleted object, namespaces as Terminating; the rest as a Success Status (registry Store.finalizeDelete). */
function deleteResponse(rt: ResourceType, gone: KubeObject): unknown {
  if (rt.group === '' && rt.plural === 'pods') return gone;
  if (rt.group === '' && rt.plural === 'namespaces') {
    return {
      ...gone,
      metadata: { ...gone.metadata, deletionTimestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') },
      status: { phase: 'Terminating' },
    };
  }
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: {
      name: gone.metadata.name,
      ...(rt.group ? { group: rt.group } : {}),
      kind: rt.plural,
      uid: gone.metadata.uid,
    },
  };
}

function healthText(path: string, verbose: boolean): string {
  if (!verbose) return 'ok';
  const checks = ['ping', 'log', 'etcd', 'poststarthook/start-apiserver-admission-initializer'];
  return `${checks.map((c) => `[+]${c} ok`).join('\n')}\n${path.slice(1)} check passed\n`;
}

export function kubeApiHandler(
  deps: KubeApiDeps,
): (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> {
  const { store, svc } = deps;
  return async (req, res, url) => {
    try {
      const path = url.pathname.replace(/\/+$/, '') || '/';
      const method = req.method ?? 'GET';
      const accept = req.headers.accept;
      if (
        accept &&
        !accept.split(',').some((a) => /application\/json|\*\/\*|application\/\*|application\/yaml/.test(a))
      )
        throw errors.notAcceptable();
      if (['/healthz', '/livez', '/readyz'].includes(path)) {
        sendText(res, 200, healthText(path, url.searchParams.has('verbose')));
        return;
      }
      if (path === '/version') return sendJson(res, 200, versionInfo(deps.build));
      if (path === '/api') return sendJson(res, 200, apiVersions(deps.serverAddress));
      if (path === '/apis') return sendJson(res, 200, apiGroupList());
      if (path === '/api/v1') return sendJson(res, 200, resourceList('', 'v1'));
      const parts = path
        .split('/')
        .filter((p) => p !== '')
        .map(decodeURIComponent);
      if (parts[0] === 'apis' && parts.length === 2) {
        const g = apiGroup(parts[1] as string);
        if (g) return sendJson(res, 200, g);
      }
      if (parts[0] === 'apis' && parts.length === 3) {
        const rl = resourceList(parts[1] as string, parts[2] as string);
        if (rl) return sendJson(res, 200, rl);
      }
      const t = resolve(parts);
      if (!t) throw errors.pathNotFound();
      await serveResource(req, res, url, t, method);
    } catch (e) {
      if (res.headersSent) {
        res.end();
        return;
      }
      if (e instanceof ApiError) sendStatus(res, e.status);
      else sendStatus(res, errors.internal((e as Error).message).status);
    }
  };

  async function serveResource(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    t: Target,
    method: string,
  ): Promise<void> {
    const q = url.searchParams;
    const dryRun = q.getAll('dryRun').includes('All');
    const { rt, namespace, name, sub } = t;
    if (name === undefined) {
      if (method === 'GET') {
        const matchLabels = parseLabelSelector(q.get('labelSelector'));
        const matchFields = parseFieldSelector(storageKey(rt), q.get('fieldSelector'));
        const matches = (o: KubeObject): boolean => matchLabels(o.metadata.labels) && matchFields(o);
        if (q.get('watch') === 'true' || q.get('watch') === '1') {
          const include = (q.get('includeObject') as IncludeObject | null) ?? 'Metadata';
          serveWatch(req, res, store, {
            rt,
            matches,
            bookmarks: q.get('allowWatchBookmarks') === 'true',
            ...(wantsTable(req.headers.accept)
              ? { present: (o: KubeObject) => toTable(rt, [o], String(o.metadata.resourceVersion ?? ''), include) }
              : {}),
            ...(namespace !== undefined ? { namespace } : {}),
            ...(q.get('resourceVersion') !== null ? { resourceVersion: q.get('resourceVersion') as string } : {}),
            ...(q.get('timeoutSeconds') ? { timeoutSeconds: Number(q.get('timeoutSeconds')) } : {}),
          });
          return;
        }
        const items = svc.list(rt, namespace).filter(matches);
        const rv = String(svc.resourceVersion());
        if (wantsTable(req.headers.accept))
          return sendJson(
            res,
            200,
            toTable(rt, items, rv, (q.get('includeObject') as IncludeObject | null) ?? 'Metadata'),
          );
        return sendJson(res, 200, {
          kind: `${rt.kind}List`,
          apiVersion: groupVersion(rt),
          metadata: { resourceVersion: rv },
          items: items.map(stripTypeMeta),
        });
      }
      if (method === 'POST') {
        const created = svc.create(rt, namespace, parseJsonBody(await readBody(req)), { dryRun });
        return sendJson(res, 201, created);
      }
      throw errors.methodNotAllowed();
    }
    if (sub === 'eviction') {
      if (method !== 'POST') throw errors.methodNotAllowed();
      const status = evictPod(svc, namespace ?? 'default', name, parseJsonBody(await readBody(req)));
      return sendJson(res, status.code, status);
    }
    const opts = { ...(sub === 'status' ? { subresource: 'status' as const } : {}), dryRun };
    switch (method) {
      case 'GET': {
        const o = svc.get(rt, namespace, name);
        if (wantsTable(req.headers.accept))
          return sendJson(
            res,
            200,
            toTable(
              rt,
              [o],
              String(o.metadata.resourceVersion ?? ''),
              (q.get('includeObject') as IncludeObject | null) ?? 'Metadata',
            ),
          );
        return sendJson(res, 200, o);
      }
      case 'PUT':
        return sendJson(res, 200, svc.update(rt, namespace, name, parseJsonBody(await readBody(req)), opts));
      case 'PATCH': {
        const pt = patchTypeOf(req.headers['content-type']);
        if (!pt) throw errors.unsupportedMediaType(String(req.headers['content-type'] ?? ''));
        return sendJson(res, 200, svc.patch(rt, namespace, name, pt, parseJsonBody(await readBody(req)), opts));
      }
      case 'DELETE': {
        const body = await readBody(req);
        const gone = svc.delete(rt, namespace, name, body.length ? parseJsonBody(body) : {}, dryRun);
        return sendJson(res, 200, deleteResponse(rt, gone));
      }
      default:
        throw errors.methodNotAllowed();
    }
  }
}
