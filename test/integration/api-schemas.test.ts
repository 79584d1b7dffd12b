// The response schemas keep every field: for nodes (with and without a health report), pools, join
// tokens and events, what the API sends equals what the hub's own view functions build, JSON-encoded
// as is. fast-json-stringify drops unlisted fields of closed objects and coerces listed ones (null to
// "" for a string), so this fails on a schema that is too narrow or typed wrong.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startInProcessHub, type InProcessHub } from '../helpers/in-process-hub.js';
import { nodeView } from '../../hub/nodes/node-view.js';
import { publicToken } from '../../hub/tokens/token-service.js';
import type { HealthRecord, NodeRecord } from '../../hub/store/types.js';

let h: InProcessHub | undefined;
after(async () => {
  await h?.stop();
});

const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

test("responses carry every field of the hub's views, untouched by serialization", async () => {
  h = await startInProcessHub();
  const { store, registry, tokens, autohealSettings, versionSupport } = h.hub.services;
  const support = (v: string) => versionSupport!.status(v);
  const now = new Date().toISOString();
  const { record: tok } = await tokens.create({
    pool: 'default',
    ttlMs: 3_600_000,
    maxUses: null,
    description: 'schema test',
    actor: 'admin',
  });
  const node: NodeRecord = {
    id: 'schemanode01',
    name: 'schema-1',
    pool: 'default',
    state: 'joining',
    labels: { tier: 'web', 'atoll.dev/x': '' },
    facts: {
      hostname: 'h',
      os: 'linux',
      kernel: '6.1',
      arch: 'amd64',
      cpus: 3,
      memoryBytes: 2 ** 33,
      addresses: ['10.1.2.3', 'fd00::3'],
      bootId: 'b',
      extraFact: { nested: [1, null] },
    } as NodeRecord['facts'],
    agentVersion: '0.1.0',
    tokenId: tok.id,
    createdAt: now,
    lastSeen: null,
    health: null,
  };
  const outcome = await store.enroll({
    tokenId: tok.id,
    now,
    node,
    cert: {
      serial: 'abc123',
      nodeId: node.id,
      notBefore: now,
      notAfter: new Date(Date.now() + 86_400_000).toISOString(),
      fingerprint: 'ff',
      revokedAt: null,
    },
    event: {
      type: 'node.joined',
      actor: `token:${tok.id}`,
      message: 'joined',
      data: { deep: { list: [1, 'two', null] }, n: 1.5 },
    },
  });
  assert.equal(outcome, 'ok');
  registry.track(node);

  const expectNode = async (): Promise<void> => {
    const n = (await store.getNode(node.id))!;
    const one = await h!.call<Record<string, unknown>>('GET', `/v1/nodes/${node.id}`);
    assert.equal(one.status, 200);
    assert.deepEqual(
      one.body,
      plain({
        ...nodeView(n, registry, null, support),
        autoheal: null,
        autohealSwitch: await autohealSettings!.node(node.id),
        certificates: await store.listCerts(node.id),
      }),
    );
    const list = await h!.call<{ items: unknown[] }>('GET', '/v1/nodes');
    assert.deepEqual(list.body.items, [plain({ ...nodeView(n, registry, null, support), autoheal: null })]);
  };
  await expectNode(); // no report yet: health, lastSeen, connectedAt are null
  const health: HealthRecord = {
    receivedAt: now,
    cpuPercent: 12.345,
    memoryTotalBytes: 8e9,
    memoryUsedBytes: 3.3e9,
    diskTotalBytes: 1e11,
    diskUsedBytes: 9.5e10,
    load1: 0.251,
    load5: 0.2,
    load15: 0.1,
    uptimeSeconds: 12345.6,
    k3s: { state: 'running', version: 'v1.31.4+k3s1', kubeletHealthy: false, restarts: 2, lastLogLines: ['a', 'b'] },
    clockSkewMs: -3,
  };
  await store.updateNode(node.id, { health, lastSeen: now, state: 'degraded' });
  await expectNode();

  await h.call('POST', '/v1/pools', undefined, {
    name: 'p1',
    description: 'd',
    labels: { a: 'b' },
    taints: ['k=v:NoSchedule'],
    autoheal: { hook: '/bin/true', maxUnhealthyPercent: 10 },
  });
  const pools = await h.call<{ items: unknown[] }>('GET', '/v1/pools');
  const expected = await Promise.all(
    (await store.listPools()).map(async (p) => ({ ...p, autoheal: await autohealSettings!.pool(p.name) })),
  );
  assert.deepEqual(pools.body.items, plain(expected));
  assert.deepEqual((await h.call('GET', '/v1/pools/p1')).body, plain(expected.find((p) => p.name === 'p1')));

  const toks = await h.call<{ items: Array<{ status: string }> }>('GET', '/v1/tokens?all=true');
  const at = new Date();
  assert.deepEqual(toks.body.items, plain((await store.listTokens()).map((t) => publicToken(t, at))));

  const evs = await h.call<{ items: unknown[]; cursor: number }>('GET', '/v1/events?limit=1000');
  const stored = await store.listEvents({ limit: 1000 });
  assert.deepEqual(evs.body.items, plain(stored));
  assert.equal(evs.body.cursor, stored.at(-1)?.id);
});
