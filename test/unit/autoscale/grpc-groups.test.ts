// The externalgrpc node groups against a real store and provider hook (grpc-rig.ts): what a node can
// claim about itself, which pools are node groups, size bounds under concurrent calls, hook calls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { groupsRig } from './grpc-rig.js';

const code = (err: unknown): string => (err as { code?: string }).code ?? String(err);

test('a node that writes another node id as its providerID is refused, for its group and for deletion', async (t) => {
  const r = await groupsRig(t);
  assert.equal((await r.groups.groupOfNode('id-n1', 'n1'))?.id, 'batch');
  // n1 re-registered its kubelet with n2's providerID: the Node is still named n1.
  await assert.rejects(r.groups.groupOfNode('id-n2', 'n1'), (e) => code(e) === 'GROUP_NODE_MISMATCH');
  await assert.rejects(
    r.groups.deleteNodes('batch', [{ providerId: 'atoll://id-n2', name: 'n1' }], 'test'),
    (e) => code(e) === 'GROUP_NODE_MISMATCH',
  );
  await assert.rejects(
    r.groups.deleteNodes('batch', [{ providerId: 'atoll://id-n2', name: '' }], 'test'),
    (e) => code(e) === 'GROUP_NODE_MISMATCH',
  );
  await r.groups.close();
  assert.deepEqual(r.removed, []);
  assert.equal((await r.groups.group('batch')).targetSize, 2);
  // The node's own name and id: deleted.
  await r.groups.deleteNodes('batch', [{ providerId: 'atoll://id-n2', name: 'n2' }], 'test');
  await r.groups.close();
  assert.deepEqual(r.removed, ['id-n2']);
});

test('only pools with autoscale on and a hook that can create and delete are node groups', async (t) => {
  const r = await groupsRig(t);
  // The default pool (every store has it): autoscale off. Not a group, nothing in it can be deleted or grown.
  r.hooks.default = r.hooks.batch;
  const ids = async (): Promise<string[]> => (await r.groups.groups()).map((g) => g.id);
  assert.deepEqual(await ids(), ['batch']);
  await assert.rejects(r.groups.increaseSize('default', 1, 'test'), (e) => code(e) === 'GROUP_NOT_FOUND');
  await assert.rejects(r.groups.deleteNodes('default', [], 'test'), (e) => code(e) === 'GROUP_NOT_FOUND');
  // Autoscale on, but its hook cannot delete machines (checked with `capabilities`): not a group either.
  const weak = join(r.dir, 'weak.sh');
  writeFileSync(weak, `#!/bin/sh\ncat > /dev/null\necho '{"ok":true,"actions":["create"]}'\n`, { mode: 0o755 });
  const autoscale = { ...(await r.store.getPool('default'))!.autoscale, enabled: true };
  await r.store.updatePool('default', { autoscale }, new Date().toISOString());
  r.hooks.default = weak;
  assert.deepEqual(await ids(), ['batch']);
  await assert.rejects(r.groups.increaseSize('default', 1, 'test'), (e) => code(e) === 'GROUP_NO_HOOK');
  r.hooks.default = null;
  await assert.rejects(r.groups.increaseSize('default', 1, 'test'), (e) => code(e) === 'GROUP_NO_HOOK');
  // With a capable hook it is one.
  r.hooks.default = r.hooks.batch;
  assert.deepEqual((await ids()).sort(), ['batch', 'default']);
  assert.equal(r.hookCalls().filter((c) => c.startsWith('create')).length, 0);
});

test('two DeleteNodes at once cannot take a group below minSize', async (t) => {
  const r = await groupsRig(t);
  // batch: n1 and n2, minSize 1. Each call alone would be fine; both together would leave 0.
  assert.equal((await r.groups.group('batch')).targetSize, 2);
  const results = await Promise.allSettled([
    r.groups.deleteNodes('batch', [{ providerId: 'atoll://id-n1', name: 'n1' }], 'test'),
    r.groups.deleteNodes('batch', [{ providerId: 'atoll://id-n2', name: 'n2' }], 'test'),
  ]);
  const refused = results.filter((x) => x.status === 'rejected');
  assert.equal(refused.length, 1, JSON.stringify(results.map((x) => x.status)));
  assert.equal(code((refused[0] as PromiseRejectedResult).reason), 'GROUP_SIZE_OUT_OF_RANGE');
  await r.groups.close();
  assert.equal(r.removed.length, 1);
  assert.equal((await r.groups.group('batch')).targetSize, 1);
});

test('NodeGroupForNode reads the node and its pool, not the whole node list (called per node per loop)', async (t) => {
  const r = await groupsRig(t);
  const store = r.store as { listNodes: () => Promise<unknown[]> };
  const listNodes = store.listNodes.bind(r.store);
  let scans = 0;
  store.listNodes = () => {
    scans++;
    return listNodes();
  };
  for (let i = 0; i < 50; i++) {
    const g = await r.groups.groupOfNode(i % 2 ? 'id-n1' : 'id-n2', i % 2 ? 'n1' : 'n2');
    assert.deepEqual([g?.id, g?.minSize, g?.maxSize], ['batch', 1, 20]);
  }
  assert.equal(scans, 0);
  assert.equal(await r.groups.groupOfNode('id-none', 'none'), undefined);
});

test('IncreaseSize runs at most 4 provider hook processes at once', async (t) => {
  const r = await groupsRig(t);
  writeFileSync(join(r.dir, 'create-sleep'), '0.3');
  await r.groups.increaseSize('batch', 10, 'test');
  await r.groups.close(30_000);
  const creates = r
    .hookCalls()
    .filter((c) => c.startsWith('create '))
    .map((c) => c.split(' ').slice(1).map(Number));
  assert.equal(creates.length, 10);
  // Most processes running at one moment: at each start, how many had started and not ended.
  const most = Math.max(...creates.map(([s]) => creates.filter(([a, b]) => a <= s && s < b).length));
  assert.ok(most <= 4, `${most} hook processes at once`);
  assert.ok(most >= 2, `${most}: the calls should still overlap`);
});

test('the join token of a machine that will not join is revoked: its create failed, or its request was dropped', async (t) => {
  const r = await groupsRig(t);
  const requests = async () =>
    (await r.store.getSetting<{ requests: Array<{ tokenId: string | null }> }>('autoscale.grpc.group.batch'))
      ?.requests ?? [];
  const revoked = async (id: string | null) => Boolean(id && (await r.store.getToken(id))?.revokedAt);
  writeFileSync(join(r.dir, 'create-fails'), '');
  await r.groups.increaseSize('batch', 1, 'test');
  await r.groups.close();
  const [failed] = await requests();
  assert.ok(failed.tokenId);
  assert.ok(await revoked(failed.tokenId), 'the token of the failed create');

  // A request still being created (its token handed to the hook) dropped by DecreaseTargetSize.
  rmSync(join(r.dir, 'create-fails'));
  await r.groups.decreaseTargetSize('batch', -1, 'test');
  writeFileSync(join(r.dir, 'create-sleep'), '1');
  await r.groups.increaseSize('batch', 1, 'test');
  let tokenId: string | null = null;
  for (let i = 0; i < 100 && !tokenId; i++) {
    tokenId = (await requests())[0]?.tokenId ?? null;
    if (!tokenId) await new Promise((res) => setTimeout(res, 20));
  }
  assert.ok(tokenId && !(await revoked(tokenId)));
  await r.groups.decreaseTargetSize('batch', -1, 'test');
  await r.groups.close();
  assert.ok(await revoked(tokenId), 'the token of the dropped request');
  // Its create finished after the drop: the machine it made is deleted, not left running.
  assert.deepEqual(
    r
      .hookCalls()
      .map((c) => c.split(' ')[0])
      .filter((a) => a !== 'capabilities'),
    ['create', 'create', 'delete'],
  );
  const evs = await r.store.listEvents({ type: 'token.revoked', limit: 10 });
  assert.equal(evs.length, 2);
});
