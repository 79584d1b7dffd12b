// A hub started inside the test process (k3s off, loopback, ephemeral ports), for tests that need
// the fastify instance itself (route table, inject).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseHubConfig } from '../../hub/config.js';
import { createLogger, type Logger } from '../../hub/logger.js';
import { startHub, type Hub } from '../../hub/app.js';
import { datastoreArgs } from './test-datastore.js';
import type { HubDeps } from '../../hub/hub-types.js';

export interface InProcessHub {
  hub: Hub;
  dataDir: string;
  /** The admin token at start (call() without a token reads the file again: the token may be rotated). */
  adminToken: string;
  call<T = unknown>(method: string, url: string, token?: string, body?: unknown): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
}

export async function startInProcessHub(
  opts: { logger?: Logger; deps?: Omit<HubDeps, 'logger'> } = {},
): Promise<InProcessHub> {
  const base = mkdtempSync(join(tmpdir(), 'atoll-hub-inproc-'));
  const dataDir = join(base, 'data');
  // ATOLL_TEST_DATASTORE=postgres: a database of its own on the test process's PostgreSQL.
  const datastore = (await datastoreArgs(dataDir))[1];
  const config = parseHubConfig(
    {
      dataDir,
      apiListen: '127.0.0.1:0',
      gatewayListen: '127.0.0.1:0',
      publicUrl: 'https://127.0.0.1:9444',
      k3s: 'off',
      heartbeatInterval: '1s',
      unreachableAfter: '3s',
      ...(datastore ? { datastore } : {}),
    },
    {},
    false,
  );
  const hub = await startHub(config, { ...opts.deps, logger: opts.logger ?? createLogger('silent') });
  const adminToken = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
  return {
    hub,
    dataDir,
    adminToken,
    async call<T>(method: string, url: string, token?: string, body?: unknown) {
      token ??= readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
      const r = await hub.api.inject({
        method: method as 'GET',
        url,
        headers: { authorization: `Bearer ${token}` },
        ...(body === undefined ? {} : { payload: body as object }),
      });
      let parsed: unknown = r.body;
      try {
        parsed = r.body ? JSON.parse(r.body) : undefined;
      } catch {
        // not JSON
      }
      return { status: r.statusCode, body: parsed as T };
    },
    async stop() {
      await hub.stop();
      rmSync(base, { recursive: true, force: true });
    },
  };
}
