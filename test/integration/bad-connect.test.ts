// Bad input at the agent WebSocket /v1/agent/connect (issue 2): missing, foreign, expired, unknown
// and revoked client certificates; then, on a verified connection, garbage, truncated, text and
// oversized frames, a first frame that is not hello, and a hello for another node. A real hub and a
// real agent process (the witness) on loopback; the bad "agent" is a raw ws client with its own key.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createCa } from '../../certs/ca.js';
import { issueClientCertForKey } from '../../certs/issue.js';
import { generateKeyPair } from '../../certs/keys.js';
import { encodeFrame, MAX_FRAME_BYTES } from '../../proto/index.js';
import { removeDir, startAgentJoin, startHub, type AgentHandle, type HubHandle } from '../helpers/processes.js';
import {
  assertUnharmed,
  createToken,
  hubCa,
  nodeIds,
  openLink,
  rawJoin,
  stopProc,
  waitForConnectedNode,
  wsConnect,
  type ErrorBody,
  type JoinedNode,
  type NodeView,
  type WsOutcome,
} from '../helpers/bad-input.js';

let hub: HubHandle;
let witness: AgentHandle;
let witnessNode: NodeView;
/** A node joined with a key held by the test: the raw client speaks for it. */
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

function refused(o: WsOutcome, status: number, code: string, message: RegExp): void {
  assert.equal(
    o.kind,
    'refused',
    `the upgrade is refused with HTTP ${status}, got ${o.kind === 'error' ? `error ${o.error.message}` : o.kind}`,
  );
  const r = o as { status: number; body: ErrorBody };
  assert.equal(r.status, status, `unexpected-response status (body ${JSON.stringify(r.body)})`);
  assert.equal(r.body?.error?.code, code);
  assert.match(r.body.error.message, message);
}

test('connect with no client certificate: 401 with a body that says one is required', async () => {
  const o = await wsConnect(hub);
  refused(o, 401, 'UNAUTHORIZED', /client certificate .*required/);
  await assertUnharmed(hub, witnessNode, ids);
});

test('connect with a certificate from another CA (naming a real node): refused', async () => {
  const evil = await createCa({ commonName: 'atoll-hub-ca' });
  const key = await generateKeyPair();
  const cert = issueClientCertForKey(evil, key.publicKeyPem, {
    commonName: raw.nodeId,
    organization: 'atoll:nodes',
    validityMs: 3_600_000,
  });
  const o = await wsConnect(hub, { certPem: cert.certPem, keyPem: key.privateKeyPem });
  if (o.kind === 'error') {
    // Refused in the TLS handshake: as good, as long as nothing opened.
    assert.match(o.error.message, /certificate|alert|socket hang up|ECONNRESET/i);
  } else {
    refused(o, 401, 'UNAUTHORIZED', /not issued by this hub/);
  }
  await assertUnharmed(hub, witnessNode, ids);
});

test('connect with an expired certificate from the hub CA: 401 says it expired', async () => {
  const key = await generateKeyPair();
  // notBefore two hours ago, notAfter one minute ago.
  const cert = issueClientCertForKey(hubCa(hub), key.publicKeyPem, {
    commonName: raw.nodeId,
    organization: 'atoll:nodes',
    validityMs: -60_000,
    backdateMs: 2 * 3_600_000,
  });
  assert.ok(cert.notAfter.getTime() < Date.now());
  const o = await wsConnect(hub, { certPem: cert.certPem, keyPem: key.privateKeyPem });
  refused(o, 401, 'UNAUTHORIZED', /expired/);
  await assertUnharmed(hub, witnessNode, ids);
});

test('connect with a hub-CA certificate the hub never issued: 401', async () => {
  const key = await generateKeyPair();
  const cert = issueClientCertForKey(hubCa(hub), key.publicKeyPem, {
    commonName: raw.nodeId,
    organization: 'atoll:nodes',
    validityMs: 3_600_000,
  });
  const o = await wsConnect(hub, { certPem: cert.certPem, keyPem: key.privateKeyPem });
  refused(o, 401, 'UNAUTHORIZED', /unknown to this hub/);
  await assertUnharmed(hub, witnessNode, ids);
});

test('a removed node: its live link is closed, and its revoked certificate gets 403', async () => {
  const t = await createToken(hub);
  const doomed = await rawJoin(hub, t.token, 'doomed');
  const link = await openLink(hub, doomed);
  assert.equal((await hub.api('DELETE', `/v1/nodes/${doomed.nodeId}`)).status, 204);
  const closed = await link.closedWithin();
  assert.equal(link.closeFrame()?.code, 'NODE_REMOVED', 'the hub says why it closed the link');
  assert.equal(closed.code, 1000);

  const o = await wsConnect(hub, { certPem: doomed.certPem, keyPem: doomed.keyPem });
  refused(o, 403, 'NODE_REMOVED', /revoked/);
  await assertUnharmed(hub, witnessNode, ids);
});

interface BadFrameCase {
  what: string;
  send(link: Awaited<ReturnType<typeof openLink>>): void;
  wsCode: number;
  /** The code of the hub's Close envelope, when it can send one. */
  closeCode?: string;
}

const healthFrame = encodeFrame({
  protocolVersion: 1,
  messageId: 99,
  sentAtMs: Date.now(),
  health: {
    cpuPercent: 1.5,
    memoryTotalBytes: 1 << 30,
    memoryUsedBytes: 1 << 20,
    k3s: { state: 'disabled', lastLogLines: ['line one', 'line two'] },
  },
});

const FRAME_CASES: BadFrameCase[] = [
  { what: 'garbage bytes', send: (l) => l.sendRaw(Buffer.alloc(64, 0xff)), wsCode: 1002, closeCode: 'FRAME_MALFORMED' },
  {
    what: 'a truncated frame',
    send: (l) => l.sendRaw(Buffer.from(healthFrame.subarray(0, healthFrame.length - 5))),
    wsCode: 1002,
    closeCode: 'FRAME_MALFORMED',
  },
  {
    what: 'a text frame',
    send: (l) => l.sendRaw('{"hello":"I am json"}', false),
    wsCode: 1002,
    closeCode: 'FRAME_MALFORMED',
  },
  {
    what: 'a frame with no known payload',
    send: (l) => l.sendRaw(Buffer.from(encodeFrame({ protocolVersion: 1, messageId: 5 }))),
    wsCode: 1002,
    closeCode: 'FRAME_UNKNOWN',
  },
  {
    what: 'a frame of another protocol version',
    send: (l) => l.sendRaw(Buffer.from(encodeFrame({ protocolVersion: 9, messageId: 5, ping: { nonce: 1 } }))),
    wsCode: 1002,
    closeCode: 'PROTOCOL_VERSION',
  },
  {
    what: 'a hub-to-agent payload (welcome)',
    send: (l) => l.send({ welcome: { nodeId: 'x', heartbeatIntervalMs: 1 } }),
    wsCode: 1008,
    closeCode: 'FRAME_UNEXPECTED',
  },
  {
    what: 'an oversized frame (> 1 MiB)',
    send: (l) => l.sendRaw(Buffer.alloc(MAX_FRAME_BYTES + 1, 0x0a)),
    wsCode: 1009,
  },
];

for (const c of FRAME_CASES) {
  test(`after hello, ${c.what} closes that connection only (${c.closeCode ?? `ws ${c.wsCode}`})`, async () => {
    const link = await openLink(hub, raw);
    c.send(link);
    const closed = await link.closedWithin();
    assert.equal(closed.code, c.wsCode, `ws close code (reason ${closed.reason})`);
    if (c.closeCode) {
      assert.equal(link.closeFrame()?.code, c.closeCode, 'the hub sent a Close envelope with the reason');
      assert.ok((link.closeFrame()?.reason ?? '').length > 5, 'the Close envelope explains');
      assert.equal(closed.reason, c.closeCode);
    }
    await assertUnharmed(hub, witnessNode, ids);
  });
}

test('a first frame that is not hello: closed with HELLO_REQUIRED', async () => {
  const o = await wsConnect(hub, { certPem: raw.certPem, keyPem: raw.keyPem });
  assert.equal(o.kind, 'open');
  const link = (o as { link: Awaited<ReturnType<typeof openLink>> }).link;
  link.send({ health: { cpuPercent: 3 } });
  const closed = await link.closedWithin();
  assert.equal(link.closeFrame()?.code, 'HELLO_REQUIRED');
  assert.match(link.closeFrame()?.reason ?? '', /first frame must be hello/);
  assert.equal(closed.code, 1008);
  assert.equal(
    link.frames.some((f) => f.payload === 'welcome'),
    false,
    'no welcome without hello',
  );
  await assertUnharmed(hub, witnessNode, ids);
});

test('a hello naming another node: closed with IDENTITY_MISMATCH, and that node keeps its link', async () => {
  const o = await wsConnect(hub, { certPem: raw.certPem, keyPem: raw.keyPem });
  assert.equal(o.kind, 'open');
  const link = (o as { link: Awaited<ReturnType<typeof openLink>> }).link;
  link.hello(witnessNode.id);
  const closed = await link.closedWithin();
  assert.equal(link.closeFrame()?.code, 'IDENTITY_MISMATCH');
  assert.ok(
    link.closeFrame()?.reason.includes(witnessNode.id) && link.closeFrame()?.reason.includes(raw.nodeId),
    'the reason names both ids',
  );
  assert.equal(closed.code, 1008);
  await assertUnharmed(hub, witnessNode, ids);
});

test('after all that, the raw node still connects normally', async () => {
  const link = await openLink(hub, raw);
  link.send({ ping: { nonce: 42 } });
  const pong = await link.waitFrame('pong');
  assert.equal(pong.pong?.nonce, 42);
  link.send({ close: { code: 'AGENT_STOPPING', reason: 'test done' } });
  assert.equal((await link.closedWithin()).code, 1000);
  await assertUnharmed(hub, witnessNode, ids);
});
