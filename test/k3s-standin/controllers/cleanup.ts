// Garbage the control plane removes by itself: a deleted node's node-password Secret (so the name can
// join again) and expired bootstrap tokens (the token cleaner).
import type { ObjectStore, StoreEvent } from '../store/object-store.js';
import { findType } from '../store/resource-types.js';
import type { ResourceService } from '../api/resource-service.js';
import { secretName } from '../server/node-password.js';
import type { Logger } from '../util/log.js';

const SECRETS = findType('', 'v1', 'secrets');

export function startCleanup(store: ObjectStore, svc: ResourceService, log: Logger): () => void {
  if (!SECRETS) throw new Error('types missing');
  const secrets = SECRETS;
  const onEvent = (e: StoreEvent): void => {
    if (e.resource !== 'nodes' || e.type !== 'DELETED') return;
    const name = secretName(e.object.metadata.name);
    setImmediate(() => {
      if (svc.find(secrets, 'kube-system', name)) {
        svc.delete(secrets, 'kube-system', name);
        log.info(`Removed node password secret ${name} of deleted node ${e.object.metadata.name}`);
      }
    });
  };
  const unsubscribe = store.subscribe(onEvent);
  const timer = setInterval(() => {
    const now = Date.now();
    for (const s of svc.list(secrets, 'kube-system')) {
      if (s.type !== 'bootstrap.kubernetes.io/token') continue;
      const exp = (s.data as Record<string, string> | undefined)?.expiration;
      if (exp && Date.parse(Buffer.from(exp, 'base64').toString('utf8')) < now) {
        svc.delete(secrets, 'kube-system', s.metadata.name);
        log.info(`Deleted expired bootstrap token secret ${s.metadata.name}`);
      }
    }
  }, 1000);
  return () => {
    clearInterval(timer);
    unsubscribe();
  };
}
