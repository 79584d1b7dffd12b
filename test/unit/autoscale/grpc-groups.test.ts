// The externalgrpc node groups against a real store and provider hook (grpc-rig.ts): what a node can
// claim about itself, which pools are node groups, size bounds under concurrent calls, hook calls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
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
