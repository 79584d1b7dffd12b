// A store failure in work the hub starts and does not await (here: a removed node's agent knocking
// with its revoked certificate, which schedules the node's purge in the store) is logged with its
// cause where it starts; it does not become an unhandledRejection that kills the hub.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger } from '../../hub/logger.js';
import { StoreError } from '../../hub/store/types.js';
import { startInProcessHub } from '../helpers/in-process-hub.js';
import { createToken, rawJoin, wsConnect } from '../helpers/bad-input.js';
import type { HubHandle } from '../helpers/processes.js';

test("a store that fails (DISK_FULL) behind a revoked agent's knock is logged; the hub keeps serving", async () => {
  const lines: Array<{ msg?: string; err?: { message?: string } }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n'))
        if (l.trim()) lines.push(JSON.parse(l) as (typeof lines)[number]);
      done();
    },
  });
  const h = await startInProcessHub({ logger: createLogger('warn', sink) });
  const store = h.hub.services.store;
  const { markPurgeAgentStopped, listPendingPurges } = store;
  try {
    const hub = {
      dataDir: h.dataDir,
      apiUrl: h.hub.apiUrl,
      gatewayUrl: `https://127.0.0.1:${(h.hub.gateway.server.address() as AddressInfo).port}`,
      adminToken: () => h.adminToken,
      caPem: () => readFileSync(join(h.dataDir, 'ca.crt'), 'utf8'),
      api: (method: string, path: string, body?: unknown, token?: string) => h.call(method, path, token, body),
    } as unknown as HubHandle;
    const t = await createToken(hub);
    const doomed = await rawJoin(hub, t.token, 'doomed');
    assert.equal((await h.call('DELETE', `/v1/nodes/${doomed.nodeId}`)).status, 204);

    const full = (): Promise<never> => Promise.reject(new StoreError('DISK_FULL', 'database or disk is full'));
    store.markPurgeAgentStopped = full;
    store.listPendingPurges = full;
    const o = await wsConnect(hub, { certPem: doomed.certPem, keyPem: doomed.keyPem });
    assert.equal(o.kind === 'refused' && o.status, 403, 'the revoked certificate is refused');

    const deadline = Date.now() + 5000;
    const logged = (): (typeof lines)[number] | undefined =>
      lines.find((l) => l.err?.message === 'database or disk is full');
    while (!logged() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.match(
      logged()?.msg ?? '',
      /purge of a removed node/,
      `the failure is logged with its cause where it started: ${JSON.stringify(lines)}`,
    );
    // Had it escaped, node:test would fail this test with the unhandled rejection; the hub still serves.
    assert.equal((await h.call('GET', '/v1/nodes')).status, 200);
  } finally {
    store.markPurgeAgentStopped = markPurgeAgentStopped;
    store.listPendingPurges = listPendingPurges;
    await h.stop();
  }
});
