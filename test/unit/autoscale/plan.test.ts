// The autoscaler's decisions as pure functions: quantities, scale-up bin packing over pools, and
// scale-down eligibility of a node (hub/autoscale/).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseQuantity, resourcesOf } from '../../../hub/autoscale/quantity.js';
import { planScaleUp, type PoolCandidate } from '../../../hub/autoscale/bin-pack.js';
import { scaleDownBlock, utilization, type PdbView } from '../../../hub/autoscale/scale-down.js';
import type { NodeView, PodView } from '../../../hub/autoscale/shapes.js';

const GI = 2 ** 30;
function pod(id: string, cpu: number, over: Partial<PodView> = {}): PodView {
  return {
    id: `default/${id}`,
    namespace: 'default',
    node: null,
    labels: { app: 'web' },
    requests: { cpu, memory: 0 },
    nodeSelector: {},
    tolerations: [],
    controller: 'ReplicaSet',
    emptyDir: false,
    mirror: false,
    finished: false,
    unschedulable: true,
    ...over,
  };
}
function node(name: string, cpu: number, over: Partial<NodeView> = {}): NodeView {
  return {
    name,
    ready: true,
    unschedulable: false,
    labels: {},
    taints: [],
    allocatable: { cpu, memory: 8 * GI },
    ...over,
  };
}
const candidate = (pool: string, cpu: number, over: Partial<PoolCandidate> = {}): PoolCandidate => ({
  pool,
  shape: { allocatable: { cpu, memory: 8 * GI }, labels: { 'atoll.dev/pool': pool }, taints: [] },
  pending: 0,
  room: 10,
  ...over,
});

test('quantities: millicores, binary and decimal suffixes, exponents; malformed counts as nothing', () => {
  assert.deepEqual(resourcesOf({ cpu: '250m', memory: '512Mi' }), { cpu: 250, memory: 512 * 2 ** 20 });
  assert.deepEqual(resourcesOf({ cpu: '1.5', memory: '2G' }), { cpu: 1500, memory: 2e9 });
  assert.deepEqual(resourcesOf({ cpu: '100u', memory: '1e3' }), { cpu: 1, memory: 1000 });
  assert.equal(parseQuantity('1Ki'), 1024);
  assert.ok(Number.isNaN(parseQuantity('12 cores')));
  assert.deepEqual(resourcesOf({ cpu: 'lots' }), { cpu: 0, memory: 0 });
});

test('scale-up packs pods into the fewest nodes (first-fit decreasing), never past the room', () => {
  // 2-cpu nodes; pods of 1500m, 1500m, 500m, 500m fit in 2 nodes, not 4.
  const pods = [pod('a', 1500), pod('b', 500), pod('c', 1500), pod('d', 500)];
  const plan = planScaleUp(pods, [candidate('batch', 2000)]);
  assert.deepEqual([...plan.adds], [['batch', 2]]);
  assert.equal(plan.placed.get('batch')?.length, 4);
  assert.deepEqual(plan.notPlaced, []);

  const capped = planScaleUp(pods, [candidate('batch', 2000, { room: 1 })]);
  assert.deepEqual([...capped.adds], [['batch', 1]]);
  assert.deepEqual(
    capped.notPlaced.map((n) => n.reason),
    ['max-size', 'max-size'],
  );
});

test('machines on the way are used first: a need already being met asks for nothing more', () => {
  const pods = [pod('a', 1500), pod('c', 1500)];
  const plan = planScaleUp(pods, [candidate('batch', 2000, { pending: 2, room: 5 })]);
  assert.deepEqual([...plan.adds], []);
  assert.equal(plan.placed.get('batch')?.length, 2);
});

test('selectors, taints and pod size decide the pool; a pod no pool admits is no-pool-fits', () => {
  const gpu = candidate('gpu', 4000, {
    shape: {
      allocatable: { cpu: 4000, memory: 8 * GI },
      labels: { 'atoll.dev/pool': 'gpu' },
      taints: [{ key: 'gpu', value: 'true', effect: 'NoSchedule' }],
    },
  });
  const pods = [
    pod('plain', 500),
    pod('wants-gpu', 500, {
      nodeSelector: { 'atoll.dev/pool': 'gpu' },
      tolerations: [{ key: 'gpu', operator: 'Exists' }],
    }),
    pod('nobody', 100, { nodeSelector: { disk: 'ssd' } }),
    pod('huge', 64_000),
    pod('untolerated', 100, { nodeSelector: { 'atoll.dev/pool': 'gpu' } }),
  ];
  const plan = planScaleUp(pods, [candidate('batch', 2000), gpu]);
  assert.deepEqual(plan.placed.get('gpu'), ['default/wants-gpu']);
  assert.deepEqual(plan.placed.get('batch'), ['default/plain']);
  assert.deepEqual(plan.notPlaced.map((n) => `${n.pod}:${n.reason}`).sort(), [
    'default/huge:no-pool-fits',
    'default/nobody:no-pool-fits',
    'default/untolerated:no-pool-fits',
  ]);
});

test('scale-down: utilization counts requests over allocatable, DaemonSet pods aside', () => {
  const n = node('n1', 2000);
  const pods = [pod('a', 500, { node: 'n1' }), pod('ds', 1500, { node: 'n1', controller: 'DaemonSet' })];
  assert.equal(utilization(n, pods), 0.25);
});

test('scale-down eligibility: under the threshold, pods movable, budgets respected, room elsewhere', () => {
  const nodes = [node('n1', 2000), node('n2', 2000)];
  const on1 = (id: string, cpu: number, over: Partial<PodView> = {}): PodView => pod(id, cpu, { node: 'n1', ...over });
  const block = (pods: PodView[], pdbs: PdbView[] = [], ns = nodes): string | undefined =>
    scaleDownBlock(ns[0], 0.5, ns, pods, pdbs)?.block;

  assert.equal(block([on1('a', 500)]), undefined);
  assert.equal(block([on1('a', 1000)]), 'utilization');
  assert.equal(block([on1('a', 500, { controller: null })]), 'pod-without-controller');
  assert.equal(block([on1('a', 500, { emptyDir: true })]), 'local-storage');
  assert.equal(
    block([on1('a', 500)], [{ namespace: 'default', selector: { app: 'web' }, disruptionsAllowed: 0 }]),
    'disruption-budget',
  );
  assert.equal(
    block([on1('a', 500)], [{ namespace: 'other', selector: { app: 'web' }, disruptionsAllowed: 0 }]),
    undefined,
  );
  // n2 is full: nowhere to go.
  assert.equal(block([on1('a', 500), pod('big', 1800, { node: 'n2' })]), 'no-room-elsewhere');
  // n2 cordoned or a taint the pod does not tolerate: nowhere either.
  assert.equal(block([on1('a', 500)], [], [nodes[0], node('n2', 2000, { unschedulable: true })]), 'no-room-elsewhere');
  const tainted = node('n2', 2000, { taints: [{ key: 'x', effect: 'NoSchedule' }] });
  assert.equal(block([on1('a', 500)], [], [nodes[0], tainted]), 'no-room-elsewhere');
  // DaemonSet pods neither count nor block.
  assert.equal(block([on1('ds', 1900, { controller: 'DaemonSet', emptyDir: true })]), undefined);
  assert.equal(block([], [], [node('n1', 2000, { ready: false }), nodes[1]]), 'not-ready');
});
