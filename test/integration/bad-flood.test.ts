// A flood of join attempts from one address (issue 2): the hub answers 429 RATE_LIMITED with a
// Retry-After once the per-source budget (--join-rate-limit 10) is spent, records nothing for the
// refused attempts, stays healthy with bounded memory, keeps its connected agent, and still lets a
// join from another source address through.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { removeDir, startAgentJoin, startHub, type AgentHandle, type HubHandle } from '../helpers/processes.js';
import {
  assertError,
  assertUnharmed,
  createToken,
  eventCount,
  gatewayCall,
  joinBody,
  keyAndCsr,
  nodeIds,
  rssBytes,
  stopProc,
  waitForConnectedNode,
  type ErrorBody,
  type GatewayResult,
  type NodeView,
} from '../helpers/bad-input.js';

const LIMIT = 10;
const ATTEMPTS = 200;
const PARALLEL = 20;
const DEADLINE_MS = 20_000;

const mb = (b: number | undefined): string => (b === undefined ? '?' : (b / 1048576).toFixed(1));

let hub: HubHandle;
let witness: AgentHandle;
let witnessNode: NodeView;

before(async () => {
  hub = await startHub({ extraArgs: ['--join-rate-limit', String(LIMIT)] });
  const t = await createToken(hub);
  // The witness joins from 127.0.0.1 too: that uses one of the ten attempts.
  witness = startAgentJoin(hub, t.token, { args: ['--node-name', 'witness'] });
  witnessNode = await waitForConnectedNode(hub, 'witness');
});

after(async () => {
  await stopProc(witness?.proc);
  await stopProc(hub?.proc);
  if (hub) removeDir(hub.dataDir);
  if (witness) removeDir(witness.dataDir);
});

test(`${ATTEMPTS} bad or malformed joins from one address: at most ${LIMIT} are looked at, the rest get 429 with Retry-After`, async (t) => {
  const ids = await nodeIds(hub);
  const rejectedBefore = await eventCount(hub, 'join.rejected');
  const good = await createToken(hub);
  const badToken = good.token.replace(/\.[a-z0-9]{32}$/, `.${'x'.repeat(32)}`);
  const { csr } = await keyAndCsr('flood');
  const body = joinBody(badToken, csr, 'flood');
  // Every other attempt is not even a valid join request: those count against the limit too.
  const malformed = { token: badToken, facts: { hostname: 'flood' } };
  const pid = hub.proc.child.pid as number;
  const rssBefore = rssBytes(pid);

  const results: GatewayResult[] = [];
  const started = Date.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < ATTEMPTS && Date.now() - started < DEADLINE_MS) {
      const i = next++;
      results.push(await gatewayCall(hub, 'POST', '/v1/join', i % 2 ? malformed : body));
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  const rssAfter = rssBytes(pid);

  assert.ok(results.length >= 40, `at least 40 attempts were made in ${DEADLINE_MS} ms (made ${results.length})`);
  const byStatus = new Map<number, number>();
  for (const r of results) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
  assert.deepEqual(
    [...byStatus.keys()].filter((s) => s !== 400 && s !== 401 && s !== 429),
    [],
    `only 400, 401 and 429 answers: ${JSON.stringify([...byStatus])}`,
  );
  const tokenChecked = byStatus.get(401) ?? 0;
  const looked = tokenChecked + (byStatus.get(400) ?? 0);
  const limited = byStatus.get(429) ?? 0;
  assert.ok(
    looked >= 1 && looked <= LIMIT,
    `between 1 and ${LIMIT} attempts got past the limiter (got ${looked}: ${JSON.stringify([...byStatus])})`,
  );
  assert.equal(limited, results.length - looked);
  for (const r of results) {
    if (r.status === 401) {
      assertError(r, 401, 'TOKEN_INVALID', /wrong secret/);
      continue;
    }
    if (r.status === 400) {
      assertError(r, 400, 'VALIDATION', /must have required property/);
      continue;
    }
    assertError(r, 429, 'RATE_LIMITED', /too many join attempts from .*127\.0\.0\.1.*retry in \d+s/);
    const retryAfter = Number(r.headers['retry-after']);
    assert.ok(
      Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60,
      `Retry-After is a number of seconds: ${r.headers['retry-after']}`,
    );
    assert.match(
      (r.body as ErrorBody).error.message,
      new RegExp(`retry in ${retryAfter}s`),
      'message and header agree',
    );
  }

  // Refused before the token check: the flood does not grow the audit log or the store.
  assert.equal(
    await eventCount(hub, 'join.rejected'),
    rejectedBefore + tokenChecked,
    'only the token-checked attempts are in the audit log',
  );
  assert.equal(
    (await hub.api<{ items: { id: string; uses: number }[] }>('GET', '/v1/tokens')).body.items.find(
      (t) => t.id === good.id,
    )?.uses,
    0,
  );
  await assertUnharmed(hub, witnessNode, ids);
  t.diagnostic(
    `${results.length} attempts in ${Date.now() - started} ms: ${JSON.stringify(Object.fromEntries(byStatus))}; hub RSS ${mb(rssBefore)} -> ${mb(rssAfter)} MiB`,
  );
  if (rssBefore !== undefined && rssAfter !== undefined) {
    assert.ok(
      rssAfter - rssBefore < 64 * 1024 * 1024,
      `hub RSS grew by ${Math.round((rssAfter - rssBefore) / 1048576)} MiB during the flood`,
    );
  }

  // Still limited right after the flood: one more try from the same address.
  const again = await gatewayCall(hub, 'POST', '/v1/join', body);
  assert.equal(again.status, 429);

  // The limit is per source address: a join from another loopback address goes through.
  const other = await keyAndCsr('other-source');
  const joined = await gatewayCall<{ nodeId: string }>(
    hub,
    'POST',
    '/v1/join',
    joinBody(good.token, other.csr, 'other-source'),
    '127.0.0.2',
  );
  assert.equal(joined.status, 201, `join from 127.0.0.2: ${JSON.stringify(joined.body)}`);
  await assertUnharmed(hub, witnessNode, [...ids, joined.body.nodeId]);
});
