// The one HTTPS listener of `k3s server` (port 6443), grouped by who may call:
//   anyone:            GET /cacerts, GET /ping
//   agents (token):    /v1-k3s/...
//   servers (token):   POST /db/snapshot
//   client certificate from the client CA: everything else (the Kubernetes API; anonymous auth off).
// Requests that read or write the cluster first catch up with the datastore (a quorum read); while
// the datastore cannot be read they get 503 (and so do /readyz checks).
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { ServerPki } from '../pki/server-pki.js';
import type { ObjectStore } from '../store/object-store.js';
import { sendStatus, sendText } from '../api/http-io.js';
import { errors, statusBody } from '../api/api-error.js';

export interface ListenerRoutes {
  readonly supervisor: (req: IncomingMessage, res: ServerResponse, path: string) => boolean;
  readonly kubeApi: (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;
  /** POST /db/snapshot (server token): `k3s etcd-snapshot save`. */
  readonly snapshot: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
}

export function createListener(pki: ServerPki, store: ObjectStore, routes: ListenerRoutes): Server {
  const fresh = (res: ServerResponse): boolean => {
    try {
      store.refresh();
      return true;
    } catch (e) {
      sendStatus(res, statusBody(503, 'ServiceUnavailable', `etcdserver: ${(e as Error).message}`));
      return false;
    }
  };
  return createServer(
    {
      key: pki.serving.keyPem,
      cert: pki.serving.certPem,
      ca: pki.clientCa.certPem,
      requestCert: true,
      rejectUnauthorized: false,
    },
    (req, res) => {
      const url = new URL(req.url ?? '/', 'https://localhost');
      const path = url.pathname;
      if (path === '/cacerts' && req.method === 'GET') return sendText(res, 200, pki.serverCaPem, 'text/plain');
      if (path === '/ping' && req.method === 'GET') return sendText(res, 200, 'pong', 'text/plain');
      if (path.startsWith('/v1-k3s/') && !fresh(res)) return undefined;
      if (path === '/db/snapshot') {
        routes.snapshot(req, res).catch((e: unknown) => sendStatus(res, errors.internal((e as Error).message).status));
        return undefined;
      }
      try {
        if (routes.supervisor(req, res, path)) return undefined;
      } catch (e) {
        return sendStatus(res, errors.internal((e as Error).message).status);
      }
      if (!(req.socket as TLSSocket).authorized) return sendStatus(res, errors.unauthorized().status);
      if (!fresh(res)) return undefined;
      void routes.kubeApi(req, res, url);
      return undefined;
    },
  );
}
