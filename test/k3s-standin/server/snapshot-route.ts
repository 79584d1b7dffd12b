// POST /db/snapshot on the supervisor port: what `k3s etcd-snapshot save` asks the running server
// for (k3s >= 1.29 takes snapshots in the server, not in the CLI). Only the server token may call it.
// The server writes <name>-<node name>-<unix time> into the snapshot dir (0600) and answers with
// what it created. Without embedded etcd it answers 400 "etcd datastore disabled".
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, resolve } from 'node:path';
import { statSync } from 'node:fs';
import type { Logger } from '../util/log.js';
import type { ResourceService } from '../api/resource-service.js';
import type { StoreSnapshot } from '../store/object-store.js';
import { defaultSnapshotDir, encodeSnapshot } from '../store/etcd-files.js';
import { readBody, sendJson, sendStatus } from '../api/http-io.js';
import { statusBody } from '../api/api-error.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { authenticate, type Passwords } from './supervisor-auth.js';
import type { ServerConfig } from './server-config.js';

export interface SnapshotRouteDeps {
  readonly cfg: ServerConfig;
  readonly svc: ResourceService;
  readonly passwords: Passwords;
  readonly log: Logger;
  /** Set with embedded etcd. */
  readonly snapshot?: () => StoreSnapshot;
  readonly now?: () => Date;
}

export interface SnapshotRequest {
  operation?: string;
  name?: string[] | string;
  dir?: string;
}

export interface SnapshotResult {
  created: { name: string; location: string; size: number; createdAt: string }[];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export function snapshotHandler(d: SnapshotRouteDeps): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const fail = (res: ServerResponse, code: 400 | 401 | 403 | 405 | 500, message: string): void => {
    const reason = {
      400: 'BadRequest',
      401: 'Unauthorized',
      403: 'Forbidden',
      405: 'MethodNotAllowed',
      500: 'InternalError',
    }[code];
    sendStatus(res, statusBody(code, reason, message));
  };
  return async (req, res) => {
    const auth = authenticate(req, d.svc, d.passwords, new Date());
    if (!auth.ok) return fail(res, auth.code, auth.code === 401 ? 'not authorized' : 'forbidden');
    if (!auth.caller.groups.includes('k3s:server')) return fail(res, 403, 'forbidden');
    if (req.method !== 'POST') return fail(res, 405, 'method not allowed');
    let body: SnapshotRequest;
    try {
      body = JSON.parse((await readBody(req)).toString('utf8') || '{}') as SnapshotRequest;
    } catch (e) {
      return fail(res, 400, `invalid snapshot request: ${(e as Error).message}`);
    }
    if (body.operation !== 'save')
      return fail(res, 400, `unsupported snapshot operation ${JSON.stringify(body.operation ?? '')}`);
    if (!d.snapshot) return fail(res, 400, 'etcd datastore disabled');
    const base = (Array.isArray(body.name) ? body.name[0] : body.name) || 'on-demand';
    if (!NAME.test(base)) return fail(res, 400, `invalid snapshot name ${JSON.stringify(base.slice(0, 120))}`);
    const now = (d.now ?? (() => new Date()))();
    const name = `${base}-${d.cfg.nodeName}-${Math.floor(now.getTime() / 1000)}`;
    const dir = resolve(body.dir || d.cfg.etcdSnapshotDir || defaultSnapshotDir(d.cfg.dataDir));
    const path = join(dir, name);
    try {
      writeFileAtomic(path, encodeSnapshot(d.snapshot()), 0o600);
    } catch (e) {
      d.log.error(`Failed to take etcd snapshot: ${(e as Error).message}`);
      return fail(res, 500, `failed to save snapshot ${name}: ${(e as Error).message}`);
    }
    d.log.info(`Saving etcd snapshot to ${path}`);
    const result: SnapshotResult = {
      created: [{ name, location: `file://${path}`, size: statSync(path).size, createdAt: now.toISOString() }],
    };
    sendJson(res, 200, result);
  };
}
