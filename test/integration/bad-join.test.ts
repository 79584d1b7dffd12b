// Bad input at POST /v1/join (issue 2): wrong, expired, revoked and used-up tokens, a token whose CA
// pin is not this hub's, and CSRs with a bad signature or a forged subject. Real hub and agent
// processes on loopback. Each case: a clear error, nothing created or consumed, and a connected
// agent and the hub carry on.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';
import { caPin } from '../../certs/pin.js';
import {
  AGENT_BIN,
  agentDataDir,
  removeDir,
  runCli,
  startAgentJoin,
  startHub,
  type AgentHandle,
  type HubHandle,
} from '../helpers/processes.js';
import {
  assertError,
  assertUnharmed,
  createToken,
  eventCount,
  gatewayCall,
  joinBody,
  keyAndCsr,
  nodeIds,
  stopProc,
  tokenUses,
  waitForConnectedNode,
  type NodeView,
  type TokenInfo,
} from '../helpers/bad-input.js';

let hub: HubHandle;
let witness: AgentHandle;
let witnessNode: NodeView;
/** One of each bad token; none may be consumed by a refused join, so both token tests share them. */
let bad: BadToken[];
const agentDirs: string[] = [];

before(async () => {
  hub = await startHub();
  const expired = await createToken(hub, { ttl: '1s' });
  const t = await createToken(hub);
  witness = startAgentJoin(hub, t.token, { args: ['--node-name', 'witness'] });
  agentDirs.push(witness.dataDir);
  witnessNode = await waitForConnectedNode(hub, 'witness');
  const wait = Date.parse(expired.expiresAt) - Date.now() + 50;
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  bad = await badTokens(expired);
});

after(async () => {
  await stopProc(witness?.proc);
  await stopProc(hub?.proc);
  if (hub) removeDir(hub.dataDir);
  for (const d of agentDirs) removeDir(d);
});

/** `atoll-agent join ... --no-run` in a fresh data dir; the env carries no token or hub. */
async function cliJoin(token: string): Promise<{ code: number | null; stderr: string; dataDir: string }> {
  const dataDir = agentDataDir();
  agentDirs.push(dataDir);
  const r = await runCli(
    AGENT_BIN,
    ['join', '--hub', hub.gatewayUrl, '--token', token, '--k3s', 'off', '--data-dir', dataDir, '--no-run'],
    { ATOLL_TOKEN: undefined, ATOLL_HUB_URL: undefined, ATOLL_LOG_LEVEL: 'warn' },
  );
  return { code: r.code, stderr: r.stderr, dataDir };
}

/** A token string with the id or secret part swapped. */
function withId(token: string, id: string): string {
  return token.replace(/::[a-z0-9]{8}\./, `::${id}.`);
}
function withSecret(token: string, secret: string): string {
  return token.replace(/\.[a-z0-9]{32}$/, `.${secret}`);
}

interface BadToken {
  what: string;
  token: string;
  tokenId?: string;
  code: string;
  message: RegExp;
  /** The agent refuses it itself, before contacting the hub. */
  local?: boolean;
}

async function badTokens(expired: TokenInfo): Promise<BadToken[]> {
  const good = await createToken(hub);
  const revoked = await createToken(hub);
  assert.equal((await hub.api('DELETE', `/v1/tokens/${revoked.id}`)).status, 204);
  const usedUp = await createToken(hub, { uses: 1 });
  const k = await keyAndCsr('uses-the-token');
  const ok = await gatewayCall(hub, 'POST', '/v1/join', joinBody(usedUp.token, k.csr, 'uses-the-token'));
  assert.equal(ok.status, 201, 'the one use of the token succeeds');
  return [
    {
      what: 'not a token at all',
      token: 'AT1-this-is-not-a-join-token',
      code: 'TOKEN_INVALID',
      message: /not an atoll join token|malformed join token|hash length/,
      local: true,
    },
    {
      what: 'unknown id',
      token: withId(good.token, 'zzzzzzzz'),
      code: 'TOKEN_INVALID',
      message: /unknown token or wrong secret/,
    },
    {
      what: 'wrong secret',
      token: withSecret(good.token, 'a'.repeat(32)),
      tokenId: good.id,
      code: 'TOKEN_INVALID',
      message: /unknown token or wrong secret/,
    },
    { what: 'expired', token: expired.token, tokenId: expired.id, code: 'TOKEN_EXPIRED', message: /expired/ },
    { what: 'revoked', token: revoked.token, tokenId: revoked.id, code: 'TOKEN_REVOKED', message: /revoked/ },
    {
      what: 'used up',
      token: usedUp.token,
      tokenId: usedUp.id,
      code: 'TOKEN_USED_UP',
      message: /used up \(1 of 1 uses\)/,
    },
  ];
}

test('wrong, expired, revoked and used-up tokens get 401 with the reason, via raw POST /v1/join', async () => {
  const ids = await nodeIds(hub);
  const usesBefore = await Promise.all(bad.map((b) => (b.tokenId ? tokenUses(hub, b.tokenId) : Promise.resolve(0))));
  for (const b of bad) {
    const k = await keyAndCsr('bad-token-node');
    const res = await gatewayCall(hub, 'POST', '/v1/join', joinBody(b.token, k.csr, 'bad-token-node'));
    assertError(res, 401, b.code, b.message);
    assert.doesNotMatch(JSON.stringify(res.body), /BEGIN CERTIFICATE/, `${b.what}: no certificate handed out`);
  }
  const usesAfter = await Promise.all(bad.map((b) => (b.tokenId ? tokenUses(hub, b.tokenId) : Promise.resolve(0))));
  assert.deepEqual(usesAfter, usesBefore, 'no token use was counted');
  await assertUnharmed(hub, witnessNode, ids);
});

test('wrong, expired, revoked and used-up tokens: atoll-agent join exits 1 and says which', async () => {
  const ids = await nodeIds(hub);
  const results = await Promise.all(bad.map((b) => cliJoin(b.token)));
  for (const [i, b] of bad.entries()) {
    const r = results[i];
    assert.equal(r.code, 1, `${b.what}: exit code (stderr: ${r.stderr})`);
    if (b.local) assert.match(r.stderr, /the join token is not valid/, `${b.what}: refused by the agent itself`);
    else assert.match(r.stderr, new RegExp(`HTTP 401 ${b.code}`), `${b.what}: stderr names the code`);
    assert.match(r.stderr, b.message, `${b.what}: stderr says what is wrong`);
    assert.equal(existsSync(join(r.dataDir, 'identity.json')), false, `${b.what}: no identity stored`);
  }
  await assertUnharmed(hub, witnessNode, ids);
});

test("a token whose CA pin is not this hub's: the agent stops before sending it, showing both hashes", async () => {
  const t = await createToken(hub);
  const realPin = caPin(hub.caPem());
  assert.ok(t.token.includes(realPin), 'a valid token carries the hub CA pin');
  const otherPin = createHash('sha256').update('some other hub CA').digest('hex');
  const forged = t.token.replace(realPin, otherPin);
  const ids = await nodeIds(hub);
  const rejectedBefore = await eventCount(hub, 'join.rejected');

  const r = await cliJoin(forged);
  assert.equal(r.code, 1, `exit code (stderr: ${r.stderr})`);
  assert.ok(r.stderr.includes(realPin), `stderr shows the hub CA hash ${realPin}: ${r.stderr}`);
  assert.ok(r.stderr.includes(otherPin), `stderr shows the token's pin ${otherPin}: ${r.stderr}`);
  assert.match(r.stderr, /does not match/);
  assert.equal(existsSync(join(r.dataDir, 'identity.json')), false, 'no identity stored');

  assert.equal(await eventCount(hub, 'join.rejected'), rejectedBefore, 'the hub received no join attempt');
  assert.equal(await tokenUses(hub, t.id), 0, 'the token was not used');
  await assertUnharmed(hub, witnessNode, ids);

  // Sent anyway (a client that skips the pin check), the hub refuses it: the pin is not its own.
  const k = await keyAndCsr('pin-skipper');
  const res = await gatewayCall(hub, 'POST', '/v1/join', joinBody(forged, k.csr, 'pin-skipper'));
  assertError(res, 401, 'TOKEN_INVALID', /different hub/);
  assert.equal(await tokenUses(hub, t.id), 0, 'the token was not used');
  await assertUnharmed(hub, witnessNode, ids);
});

/** Flips one byte inside the CSR's signature (the last bytes of the DER are the signature's). */
function breakSignature(csrPem: string): string {
  const der = Buffer.from(forge.pem.decode(csrPem)[0].body, 'binary');
  der[der.length - 10] ^= 0x01;
  return forge.pem.encode({ type: 'CERTIFICATE REQUEST', body: der.toString('binary') });
}

test('CSRs with a bad signature or a forged subject get 400 CSR_INVALID and do not use up the token', async () => {
  const t = await createToken(hub, { uses: 1 });
  const ids = await nodeIds(hub);
  const rejectedBefore = await eventCount(hub, 'join.rejected');

  const signed = await keyAndCsr('csr-node');
  const badSig = await gatewayCall(hub, 'POST', '/v1/join', joinBody(t.token, breakSignature(signed.csr), 'csr-node'));
  assertError(badSig, 400, 'CSR_INVALID', /signature does not verify/);

  // The CSR names someone else than the node it asks to join as: by --node-name, and by hostname.
  const admin = await keyAndCsr('admin');
  const forgedByName = await gatewayCall(hub, 'POST', '/v1/join', joinBody(t.token, admin.csr, 'csr-node'));
  assertError(forgedByName, 400, 'CSR_INVALID', /common name "admin" is not the expected "csr-node"/);
  const other = await keyAndCsr(witnessNode.name);
  const byHost = joinBody(t.token, other.csr, 'csr-node');
  delete byHost.nodeName;
  const forgedByHost = await gatewayCall(hub, 'POST', '/v1/join', byHost);
  assertError(forgedByHost, 400, 'CSR_INVALID', /common name "witness" is not the expected "csr-node"/);

  assert.equal(await tokenUses(hub, t.id), 0, 'refused CSRs do not count as a use');
  assert.equal(await eventCount(hub, 'join.rejected'), rejectedBefore + 3, 'each refusal is in the audit log');
  await assertUnharmed(hub, witnessNode, ids);

  // The single-use token still works for a proper CSR, exactly once.
  const good = await gatewayCall<{ nodeId: string; nodeName: string }>(
    hub,
    'POST',
    '/v1/join',
    joinBody(t.token, signed.csr, 'csr-node'),
  );
  assert.equal(good.status, 201, JSON.stringify(good.body));
  assert.equal(good.body.nodeName, 'csr-node');
  assert.equal(await tokenUses(hub, t.id), 1);
  await assertUnharmed(hub, witnessNode, [...ids, good.body.nodeId]);
});
