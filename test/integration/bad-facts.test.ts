// Bad input in what a joined node sends (issue: a joined node could fill the hub's disk): oversized
// or garbage hello facts, health reports, command results and close reasons. A real hub and a real
// agent process (the witness) on loopback; the bad "agent" is a raw mTLS ws client with a node's own
// certificate. Each case: the hub closes that link with FIELD_INVALID naming the field, stores
// nothing of it, and the database does not grow. POST /v1/join refuses the same facts with 400.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Envelope, HostFacts } from '../../proto/index.js';
import { removeDir, startAgentJoin, startHub, type AgentHandle, type HubHandle } from '../helpers/processes.js';
import {
  assertError,
  assertUnharmed,
  createToken,
  gatewayCall,
  joinBody,
  keyAndCsr,
  nodeIds,
  openLink,
  rawJoin,
  stopProc,
  tokenUses,
  waitForConnectedNode,
  wsConnect,
  type JoinedNode,
  type NodeView,
  type RawLink,
} from '../helpers/bad-input.js';
import { sqliteOnly } from '../helpers/test-datastore.js';

const sqliteFile = sqliteOnly('it measures the growth of hub.db and its WAL');

let hub: HubHandle;
let witness: AgentHandle;
let witnessNode: NodeView;
let raw: JoinedNode;
let ids: string[];

before(async () => {
  hub = await startHub();
  const [t, reusable] = await Promise.all([createToken(hub), createToken(hub, { reusable: true })]);
  witness = startAgentJoin(hub, t.token, { args: ['--node-name', 'witness'] });
  raw = await rawJoin(hub, reusable.token, 'raw-agent');
  witnessNode = await waitForConnectedNode(hub, 'witness');
  ids = await nodeIds(hub);
});

after(async () => {
  await stopProc(witness?.proc);
  await stopProc(hub?.proc);
  if (hub) removeDir(hub.dataDir);
  if (witness) removeDir(witness.dataDir);
});

interface StoredNode {
  agentVersion: string;
  facts: HostFacts;
}
interface Ev {
  id: number;
  type: string;
  message: string;
  data: unknown;
}

async function storedNode(): Promise<StoredNode> {
  const r = await hub.api<StoredNode>('GET', `/v1/nodes/${raw.nodeId}`);
  assert.equal(r.status, 200);
  return { agentVersion: r.body.agentVersion, facts: r.body.facts };
}

/** The raw node's events, without its state changes (the sweep marks it unreachable while it is offline). */
async function nodeEvents(): Promise<Ev[]> {
  const r = await hub.api<{ items: Ev[] }>('GET', `/v1/events?node=${raw.nodeId}&limit=1000`);
  assert.equal(r.status, 200);
  return r.body.items.filter((e) => e.type !== 'node.state');
}

function dbBytes(): number {
  let total = 0;
  for (const f of ['hub.db', 'hub.db-wal']) {
    try {
      total += statSync(join(hub.dataDir, f)).size;
    } catch {
      // no WAL yet
    }
  }
  return total;
}

const goodFacts: HostFacts = {
  hostname: 'raw-link',
  os: 'Debian GNU/Linux 12 (bookworm)',
  kernel: '6.1.0-18-amd64',
  arch: 'amd64',
  cpus: 2,
  memoryBytes: 1 << 30,
  addresses: ['127.0.0.1', 'fe80::1'],
  bootId: 'c2a4e7e0-0b1e-4d1b-9d3a-5c1f0e6a9b11',
};

/** Connects as the raw node and sends `hello` (not waiting for a welcome). */
async function connectWith(hello: Envelope['hello']): Promise<RawLink> {
  const o = await wsConnect(hub, { certPem: raw.certPem, keyPem: raw.keyPem });
  assert.equal(o.kind, 'open');
  const link = (o as { link: RawLink }).link;
  link.send({ hello });
  return link;
}

async function assertFieldInvalid(link: RawLink, field: RegExp): Promise<void> {
  const closed = await link.closedWithin();
  assert.equal(
    link.closeFrame()?.code,
    'FIELD_INVALID',
    `the hub says why (frames: ${link.frames.map((f) => f.payload).join(',')})`,
  );
  assert.match(link.closeFrame()?.reason ?? '', field);
  assert.ok((link.closeFrame()?.reason.length ?? 0) < 200, 'the reason is short: it never echoes the value');
  assert.equal(closed.code, 1008);
  assert.equal(closed.reason, 'FIELD_INVALID');
  assert.equal(
    link.frames.some((f) => f.payload === 'welcome'),
    false,
    'no welcome for an out-of-bounds hello',
  );
}

const big = (n: number, c = 'x'): string => c.repeat(n);

const BAD_HELLOS: Array<{ what: string; hello: (id: string) => Envelope['hello']; field: RegExp }> = [
  {
    what: 'a 900 KB agent version',
    hello: (id) => ({ nodeId: id, agentVersion: big(900_000), facts: goodFacts }),
    field: /^hello\.agentVersion: 900000 characters, at most 64 allowed$/,
  },
  {
    what: 'an agent version with spaces and an escape sequence',
    hello: (id) => ({ nodeId: id, agentVersion: '1.0 \u001b[31mred', facts: goodFacts }),
    field: /^hello\.agentVersion: must be a version/,
  },
  {
    what: 'a 10 KB node id',
    hello: () => ({ nodeId: big(10_000), agentVersion: '0.1.0', facts: goodFacts }),
    field: /^hello\.nodeId: 10000 characters/,
  },
  {
    what: 'a hostname with a newline',
    hello: (id) => ({ nodeId: id, agentVersion: '0.1.0', facts: { ...goodFacts, hostname: 'evil\nFAKE LOG LINE' } }),
    field: /^hello\.facts\.hostname: must be printable characters without spaces$/,
  },
  {
    what: 'a 300-character hostname',
    hello: (id) => ({ nodeId: id, agentVersion: '0.1.0', facts: { ...goodFacts, hostname: big(300, 'h') } }),
    field: /^hello\.facts\.hostname: 300 characters, at most 253/,
  },
  {
    what: 'a 100 KB OS name',
    hello: (id) => ({ nodeId: id, agentVersion: '0.1.0', facts: { ...goodFacts, os: big(100_000) } }),
    field: /^hello\.facts\.os: 100000 characters, at most 200/,
  },
  {
    what: 'a kernel with a terminal escape',
    hello: (id) => ({ nodeId: id, agentVersion: '0.1.0', facts: { ...goodFacts, kernel: '6.1\u001b]0;pwned\u0007' } }),
    field: /^hello\.facts\.kernel: must be printable/,
  },
  {
    what: '10,000 addresses',
    hello: (id) => ({
      nodeId: id,
      agentVersion: '0.1.0',
      facts: { ...goodFacts, addresses: Array.from({ length: 10_000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`) },
    }),
    field: /^hello\.facts\.addresses: 10000 entries, at most 64 allowed$/,
  },
  {
    what: 'an address that is not one',
    hello: (id) => ({
      nodeId: id,
      agentVersion: '0.1.0',
      facts: { ...goodFacts, addresses: ['127.0.0.1', 'DROP TABLE nodes; --'] },
    }),
    field: /^hello\.facts\.addresses\[1\]: must be an IP address$/,
  },
  {
    what: 'a garbage boot id',
    hello: (id) => ({ nodeId: id, agentVersion: '0.1.0', facts: { ...goodFacts, bootId: '<script>' } }),
    field: /^hello\.facts\.bootId: must be/,
  },
  {
    what: 'a million CPUs',
    hello: (id) => ({ nodeId: id, agentVersion: '0.1.0', facts: { ...goodFacts, cpus: 1_000_000 } }),
    field: /^hello\.facts\.cpus: must be a number from 0 to 100000$/,
  },
  {
    what: '5,000 completed command ids',
    hello: (id) => ({
      nodeId: id,
      agentVersion: '0.1.0',
      facts: goodFacts,
      completedCommandIds: Array.from({ length: 5_000 }, (_, i) => `cmd-${i}`),
    }),
    field: /^hello\.completedCommandIds: 5000 entries, at most 100/,
  },
];

for (const c of BAD_HELLOS) {
  test(`a hello with ${c.what}: closed with FIELD_INVALID naming the field, nothing stored`, async () => {
    const nodeBefore = await storedNode();
    const eventsBefore = (await nodeEvents()).length;
    const link = await connectWith(c.hello(raw.nodeId));
    await assertFieldInvalid(link, c.field);
    assert.deepEqual(await storedNode(), nodeBefore, 'the node record is unchanged');
    assert.equal((await nodeEvents()).length, eventsBefore, 'no event was written');
    await assertUnharmed(hub, witnessNode, ids);
  });
}

test(
  '40 reconnects with a 900 KB agent version: each is closed and the database does not grow',
  { skip: sqliteFile },
  async (t) => {
    const bytesBefore = dbBytes();
    const eventsBefore = (await nodeEvents()).length;
    for (let i = 0; i < 40; i++) {
      const link = await connectWith({
        nodeId: raw.nodeId,
        agentVersion: big(900_000, String(i % 10)),
        facts: { ...goodFacts, os: big(200, 'o') },
      });
      await assertFieldInvalid(link, /^hello\.agentVersion: 900000 characters/);
    }
    const grown = dbBytes() - bytesBefore;
    t.diagnostic(`database (hub.db + WAL) grew by ${grown} bytes over 40 oversized hellos`);
    // Unbounded, each hello stored the version twice (node row and connect event): 40 x 1.8 MB.
    // What remains is the witness's own health reports in the WAL.
    assert.ok(grown < 2 * 1024 * 1024, `the database grew by ${grown} bytes`);
    assert.equal((await nodeEvents()).length, eventsBefore, 'no event was written');
    assert.notEqual((await storedNode()).agentVersion.length, 900_000);
    await assertUnharmed(hub, witnessNode, ids);
  },
);

const BAD_AFTER_HELLO: Array<{
  what: string;
  payload: Omit<Envelope, 'protocolVersion' | 'messageId' | 'sentAtMs'>;
  field: RegExp;
}> = [
  {
    what: 'a health report with 5,000 log lines',
    payload: {
      health: {
        cpuPercent: 1,
        k3s: { state: 'crashed', lastLogLines: Array.from({ length: 5_000 }, (_, i) => `line ${i}`) },
      },
    },
    field: /^health\.k3s\.lastLogLines: 5000 entries, at most 20/,
  },
  {
    what: 'a health report with a 100 KB log line',
    payload: { health: { cpuPercent: 1, k3s: { state: 'crashed', lastLogLines: [big(100_000)] } } },
    field: /^health\.k3s\.lastLogLines\[0\]: 100000 characters, at most 1024/,
  },
  {
    what: 'a health report with a garbage k3s version',
    payload: { health: { k3s: { state: 'running', version: big(70_000) } } },
    field: /^health\.k3s\.version: 70000 characters/,
  },
  {
    what: 'a command result with a 500 KB message',
    payload: { commandResult: { commandId: 'cmd-x', ok: false, errorCode: 'E', message: big(500_000) } },
    field: /^commandResult\.message: 500000 characters, at most 2048/,
  },
  {
    what: 'a close with a 500 KB reason',
    payload: { close: { code: 'BYE', reason: big(500_000) } },
    field: /^close\.reason: 500000 characters/,
  },
  {
    what: 'a renewal with a 900 KB CSR',
    payload: { certRenewRequest: { csrPem: big(900_000, 'A') } },
    field: /^certRenewRequest\.csrPem: 900000 characters, at most 16384/,
  },
];

for (const c of BAD_AFTER_HELLO) {
  test(`after hello, ${c.what}: closed with FIELD_INVALID, the disconnect event is short`, async () => {
    const link = await openLink(hub, raw);
    const since = (await nodeEvents()).at(-1)?.id ?? 0;
    const healthBefore = JSON.stringify((await hub.api<{ k3s: unknown }>('GET', `/v1/nodes/${raw.nodeId}`)).body.k3s);
    link.send(c.payload);
    const closed = await link.closedWithin();
    assert.equal(link.closeFrame()?.code, 'FIELD_INVALID');
    assert.match(link.closeFrame()?.reason ?? '', c.field);
    assert.equal(closed.code, 1008);
    const gone = await waitForEvent(since, 'node.disconnected');
    assert.match(gone.message, /FIELD_INVALID/);
    assert.ok(gone.message.length < 300, `the disconnect event is bounded (${gone.message.length} characters)`);
    assert.equal(
      JSON.stringify((await hub.api<{ k3s: unknown }>('GET', `/v1/nodes/${raw.nodeId}`)).body.k3s),
      healthBefore,
      'the report was not stored',
    );
    await assertUnharmed(hub, witnessNode, ids);
  });
}

async function waitForEvent(since: number, type: string): Promise<Ev> {
  for (let i = 0; i < 100; i++) {
    const e = (await nodeEvents()).find((x) => x.id > since && x.type === type);
    if (e) return e;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no ${type} event after ${since}`);
}

test('POST /v1/join refuses the same garbage facts with 400 VALIDATION and does not use the token', async () => {
  const t = await createToken(hub, { uses: 1 });
  const k = await keyAndCsr('facts-node');
  const cases: Array<[string, Record<string, unknown>]> = [
    ['agent version with an escape', { agentVersion: '1.0\u001b[2J' }],
    ['hostname with a newline', { facts: { ...goodFacts, hostname: 'a\nb' } }],
    ['address that is not one', { facts: { ...goodFacts, addresses: ['not an address'] } }],
    ['a million CPUs', { facts: { ...goodFacts, cpus: 1_000_000 } }],
    ['a 70-address list', { facts: { ...goodFacts, addresses: Array.from({ length: 70 }, (_, i) => `10.0.0.${i}`) } }],
    ['a 400-character label key', { labels: { [big(400, 'k')]: 'v' } }],
  ];
  for (const [what, extra] of cases) {
    const res = await gatewayCall(hub, 'POST', '/v1/join', joinBody(t.token, k.csr, 'facts-node', extra));
    assertError(res, 400, 'VALIDATION');
    assert.ok(JSON.stringify(res.body).length < 500, `${what}: the error does not echo the value`);
  }
  assert.equal(await tokenUses(hub, t.id), 0, 'refused joins do not use the token');
  // The same request with sane facts joins, also from a newer agent that reports a fact this hub
  // does not know yet (forward compatible: an unknown fact is dropped, not refused).
  const ok = await gatewayCall<{ nodeId: string }>(
    hub,
    'POST',
    '/v1/join',
    joinBody(t.token, k.csr, 'facts-node', { facts: { ...goodFacts, gpuCount: 2 }, agentVersion: '0.1.0+build.7' }),
  );
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
  ids = [...ids, ok.body.nodeId];
  await assertUnharmed(hub, witnessNode, ids);
});

test('after all that, the raw node connects with sane facts and they are stored', async () => {
  const link = await connectWith({ nodeId: raw.nodeId, agentVersion: '0.1.0', facts: goodFacts });
  await link.waitFrame('welcome');
  const n = await storedNode();
  assert.equal(n.agentVersion, '0.1.0');
  assert.equal(n.facts.hostname, 'raw-link');
  assert.deepEqual(n.facts.addresses, goodFacts.addresses);
  link.send({ close: { code: 'AGENT_STOPPING', reason: 'test done' } });
  assert.equal((await link.closedWithin()).code, 1000);
  await assertUnharmed(hub, witnessNode, ids);
});
