// Certificate renewal bookkeeping (issue, first use, rejoin, current certificates) and durable
// commands (stored, sent, completed once, expired, cancelled).
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { OpenStore } from './open.js';
import type { CommandRecord, NodeCertRecord, Store } from '../../../../hub/store/index.js';
import { HOUR, cert, enrollInput, iso, token } from '../helpers.js';

const nodeCert = (serial: string, nodeId: string, issuedMs: number): NodeCertRecord => ({
  ...cert(serial, nodeId, { notBefore: iso(issuedMs - 60_000), notAfter: iso(issuedMs + 400 * 24 * HOUR) }),
  issuedAt: iso(issuedMs),
  publicKeySha256: `key-${serial}`,
  certPem: `pem-${serial}`,
});

const command = (id: string, nodeId: string, createdMs: number, over: Partial<CommandRecord> = {}): CommandRecord => ({
  id,
  nodeId,
  action: 'reboot',
  args: { why: 'test' },
  actor: 'admin',
  state: 'pending',
  createdAt: iso(createdMs),
  expiresAt: iso(createdMs + HOUR),
  sentCount: 0,
  result: null,
  ...over,
});

export function renewalAndCommands(open: OpenStore): void {
  async function withNode(t: TestContext): Promise<Store> {
    const store = await open(t);
    await store.createToken(token('tok', { maxUses: null }));
    assert.equal(await store.enroll(enrollInput('tok', 'a')), 'ok');
    return store;
  }

  test('issueNodeCert: stored for a node that exists (revoking what it replaces), stored revoked for a removed one', async (t) => {
    const store = await withNode(t);
    const now = Date.now() + 10_000;
    const spare = nodeCert('spare', 'a', now - 1000);
    assert.equal(await store.issueNodeCert(spare, iso(now - 1000)), 'ok');
    assert.equal(await store.issueNodeCert(nodeCert('renewed', 'a', now), iso(now), ['spare']), 'ok');
    const certs = await store.listNodeCerts('a');
    assert.deepEqual(
      certs.map((c) => [c.serial, c.revokedAt === null]),
      [
        ['serial-a', true],
        ['spare', false],
        ['renewed', true],
      ],
    );
    assert.equal(certs[2].certPem, 'pem-renewed');
    assert.equal(certs[2].publicKeySha256, 'key-renewed');
    assert.equal(await store.issueNodeCert(nodeCert('late', 'gone', now), iso(now)), 'node-missing');
    assert.equal((await store.getCert('late'))?.revokedAt, iso(now), 'kept, revoked: it can never be used');
  });

  test('markCertUsed stamps the first use and revokes the older live certificates; currentCerts follows', async (t) => {
    const store = await withNode(t);
    const now = Date.now() + 10_000;
    assert.equal(await store.issueNodeCert(nodeCert('renewed', 'a', now), iso(now)), 'ok');
    assert.deepEqual(
      (await store.currentCerts()).map((c) => c.serial),
      ['renewed'],
      'unused: the newest live one',
    );
    assert.deepEqual(await store.markCertUsed('renewed', iso(now + 1000)), ['serial-a']);
    assert.deepEqual(await store.markCertUsed('renewed', iso(now + 2000)), [], 'once');
    assert.equal((await store.getCert('renewed'))?.usedAt, iso(now + 1000), 'the first use stays');
    assert.equal((await store.getCert('serial-a'))?.revokedAt, iso(now + 1000));
    assert.deepEqual(await store.markCertUsed('serial-a', iso(now + 3000)), [], 'a revoked one changes nothing');
    assert.deepEqual(await store.markCertUsed('nope', iso(now)), []);
    const [current] = await store.currentCerts();
    assert.deepEqual(current, {
      nodeId: 'a',
      serial: 'renewed',
      notAfter: iso(now + 400 * 24 * HOUR),
      issuedAt: iso(now),
    });
  });

  test('rejoinNode uses the token, revokes the live certificates and records the new one; refusals change nothing', async (t) => {
    const store = await withNode(t);
    await store.createToken(token('once', { maxUses: 1 }));
    const now = Date.now();
    assert.equal(
      await store.rejoinNode({ tokenId: 'once', now: iso(now), cert: nodeCert('r1', 'ghost', now) }),
      'node-missing',
    );
    assert.equal((await store.getToken('once'))?.uses, 0, 'a refusal uses nothing');
    assert.equal(await store.rejoinNode({ tokenId: 'once', now: iso(now), cert: nodeCert('r1', 'a', now) }), 'ok');
    assert.equal(
      await store.rejoinNode({ tokenId: 'once', now: iso(now), cert: nodeCert('r2', 'a', now) }),
      'token-used-up',
    );
    assert.equal(await store.getCert('r2'), undefined);
    const live = (await store.listNodeCerts('a')).filter((c) => !c.revokedAt).map((c) => c.serial);
    assert.deepEqual(live, ['r1']);
  });

  test('commands: stored, pending until done, completed once by their own node, expired and cancelled', async (t) => {
    const store = await open(t);
    const now = Date.now();
    await store.addCommand(command('c1', 'a', now - 2000));
    await store.addCommand(command('c2', 'a', now - 1000));
    await store.addCommand(command('old', 'a', now - 2 * HOUR));
    await store.addCommand(command('b1', 'b', now));
    assert.deepEqual(
      (await store.pendingCommands('a', iso(now))).map((c) => c.id),
      ['c1', 'c2'],
      'oldest first, the expired one left out',
    );
    await store.markCommandSent('c1');
    await store.markCommandSent('c1');
    assert.equal((await store.getCommand('c1'))?.sentCount, 2);
    assert.equal(
      await store.completeCommand('c1', 'b', { ok: true, errorCode: '', message: 'x' }, iso(now)),
      undefined,
    );
    const done = await store.completeCommand('c1', 'a', { ok: false, errorCode: 'E', message: 'failed' }, iso(now));
    assert.deepEqual(done?.result, { ok: false, errorCode: 'E', message: 'failed', at: iso(now) });
    assert.equal(done?.state, 'done');
    assert.equal(
      await store.completeCommand('c1', 'a', { ok: true, errorCode: '', message: 'again' }, iso(now)),
      undefined,
    );
    assert.deepEqual(
      (await store.expireCommands(iso(now))).map((c) => [c.id, c.state]),
      [['old', 'expired']],
    );
    assert.equal(await store.cancelCommand('c2'), true);
    assert.equal(await store.cancelCommand('c2'), false);
    assert.deepEqual(await store.pendingCommands('a', iso(now)), []);
    assert.deepEqual(
      (await store.listCommands('a', 2)).map((c) => c.id),
      ['c2', 'c1'],
      'newest first, limited',
    );
    assert.deepEqual((await store.getCommand('b1'))?.args, { why: 'test' });
    assert.equal(await store.getCommand('nope'), undefined);
  });

  test('commands never sent, of any node: what another hub stored for a link this hub holds', async (t) => {
    const store = await open(t);
    const now = Date.now();
    await store.addCommand(command('a1', 'a', now - 3000));
    await store.addCommand(command('b1', 'b', now - 2000));
    await store.addCommand(command('a2', 'a', now - 1000));
    await store.addCommand(command('old', 'b', now - 2 * HOUR));
    await store.addCommand(command('gone', 'b', now - 500, { state: 'expired' }));
    assert.deepEqual(
      (await store.unsentCommands(iso(now), 10, ['a', 'b'])).map((c) => c.id),
      ['a1', 'b1', 'a2'],
      'oldest first, expired ones left out',
    );
    assert.deepEqual(
      (await store.unsentCommands(iso(now), 2, ['a', 'b'])).map((c) => c.id),
      ['a1', 'b1'],
      'limited',
    );
    await store.markCommandSent('a1');
    await store.completeCommand('b1', 'b', { ok: true, errorCode: '', message: 'done' }, iso(now));
    assert.deepEqual(
      (await store.unsentCommands(iso(now), 10, ['a', 'b'])).map((c) => c.id),
      ['a2'],
      'a sent and a completed command are not unsent',
    );
    // Only the nodes asked for: commands of nodes linked elsewhere never crowd them out.
    await store.addCommand(command('c1', 'c', now - 4000));
    assert.deepEqual(
      (await store.unsentCommands(iso(now), 1, ['a'])).map((c) => c.id),
      ['a2'],
      'an older command of another node does not take the only slot',
    );
    assert.deepEqual(
      (await store.unsentCommands(iso(now), 10, [])).map((c) => c.id),
      [],
    );
  });
}
