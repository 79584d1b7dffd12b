// ?watch=true: a stream of {"type","object"} JSON lines, resuming from a resourceVersion when one is
// given (410 Expired when that is older than the kept history), else starting with ADDED for all.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ObjectStore, StoreEvent } from '../store/object-store.js';
import { groupVersion, storageKey, type ResourceType } from '../store/resource-types.js';
import type { KubeObject } from '../store/kube-object.js';
import { statusBody } from './api-error.js';

export interface WatchRequest {
  readonly rt: ResourceType;
  readonly namespace?: string;
  readonly matches: (o: KubeObject) => boolean;
  readonly resourceVersion?: string;
  readonly timeoutSeconds?: number;
  readonly bookmarks: boolean;
  /** Wraps each event object (e.g. into a one-row Table for `kubectl get -w`). */
  readonly present?: (o: KubeObject) => unknown;
}

function withType(rt: ResourceType, o: KubeObject): KubeObject {
  return { ...o, apiVersion: groupVersion(rt), kind: rt.kind };
}

export function serveWatch(req: IncomingMessage, res: ServerResponse, store: ObjectStore, w: WatchRequest): void {
  const key = storageKey(w.rt);
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    'Transfer-Encoding': 'chunked',
  });
  res.flushHeaders();
  const send = (type: string, object: unknown): void => {
    const shown = w.present && type !== 'ERROR' && type !== 'BOOKMARK' ? w.present(object as KubeObject) : object;
    res.write(`${JSON.stringify({ type, object: shown })}\n`);
  };
  const inScope = (o: KubeObject | undefined): boolean =>
    o !== undefined && (w.namespace === undefined || o.metadata.namespace === w.namespace) && w.matches(o);

  const deliver = (e: StoreEvent): void => {
    if (e.resource !== key) return;
    const now = inScope(e.object);
    const before = e.type === 'MODIFIED' ? inScope(e.previous) : now;
    if (e.type === 'DELETED') {
      if (now) send('DELETED', withType(w.rt, e.object));
    } else if (e.type === 'ADDED') {
      if (now) send('ADDED', withType(w.rt, e.object));
    } else if (now && before) send('MODIFIED', withType(w.rt, e.object));
    else if (now) send('ADDED', withType(w.rt, e.object));
    else if (before) send('DELETED', withType(w.rt, e.object));
  };

  const rv = w.resourceVersion;
  if (rv === undefined || rv === '' || rv === '0') {
    for (const o of store.list(key, w.rt.namespaced ? w.namespace : undefined))
      if (inScope(o)) send('ADDED', withType(w.rt, o));
  } else {
    const n = Number(rv);
    const past = Number.isFinite(n) ? store.eventsSince(n) : 'expired';
    if (past === 'expired') {
      send('ERROR', statusBody(410, 'Expired', `too old resource version: ${rv} (${store.resourceVersion()})`));
      res.end();
      return;
    }
    for (const e of past) deliver(e);
  }

  const unsubscribe = store.subscribe(deliver);
  const bookmark = w.bookmarks
    ? setInterval(
        () =>
          send('BOOKMARK', {
            kind: w.rt.kind,
            apiVersion: groupVersion(w.rt),
            metadata: { resourceVersion: String(store.resourceVersion()) },
          }),
        60_000,
      )
    : undefined;
  const timer =
    w.timeoutSeconds && w.timeoutSeconds > 0 ? setTimeout(() => res.end(), w.timeoutSeconds * 1000) : undefined;
  const stop = (): void => {
    unsubscribe();
    if (bookmark) clearInterval(bookmark);
    if (timer) clearTimeout(timer);
  };
  res.on('close', stop);
  req.on('close', stop);
}
