// NodeRegistry on a fake clock: liveness (silence, touch, a half-open link, a wall-clock step, a hub
// restart) and the state a node is in (ready, degraded, cordoned, unreachable, workflow states).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openSqliteStore } from '../../../hub/store/index.js';
import type { Store } from '../../../hub/store/types.js';
import { createEventLog } from '../../../hub/events.js';
import { createLogger } from '../../../hub/logger.js';
import { createHealthBatcher } from '../../../hub/nodes/health-batcher.js';
import { NodeRegistry, type KubeView } from '../../../hub/nodes/registry.js';
import { FakeClock, FakeLink, health } from './autoheal-harness.js';
import { enrollInput, tempDir, token } from '../store/helpers.js';

const UNREACHABLE_MS = 10_000;

interface World {
  store: Store;
  clock: FakeClock;
  registry: NodeRegistry;
  /** A joined node, tracked (not connected): id n-<name>. */
  join(name: string): Promise<string>;
  connect(id: string): Promise<FakeLink>;
  /** Moves time by ms in 1 s steps, sweeping after each. */
  run(ms: number, each?: () => void): Promise<void>;
  /** The node.state transitions of a node ("ready -> unreachable"), oldest first. */
  transitions(id: string): Promise<string[]>;
  /** Writes the reports pushed so far (lastSeen) to the store. */
  flush(): Promise<void>;
  restart(): Promise<NodeRegistry>;
}

async function world(t: TestContext): Promise<World> {
  const store = await openSqliteStore({ path: join(tempDir(t), 'hub.db') });
  const logger = createLogger('silent');
  const events = createEventLog(store, logger);
  const clock = new FakeClock();
  const batcher = createHealthBatcher(store, logger);
  t.after(async () => {
    await batcher.stop();
    await store.close();
  });
  const make = (): NodeRegistry =>
    new NodeRegistry({ store, events, batcher, logger, unreachableAfterMs: UNREACHABLE_MS, clock });
  const w: World = {
    store,
    clock,
    registry: make(),
    async join(name) {
      const id = `n-${name}`;
      await store.createToken(token(`tok-${name}`, { expiresAt: new Date(clock.now() + 3_600_000).toISOString() }));
      const input = enrollInput(`tok-${name}`, id, new Date(clock.now()).toISOString());
      input.node = { ...input.node, name, createdAt: new Date(clock.now()).toISOString() };
      if ((await store.enroll(input)) !== 'ok') throw new Error(`enroll ${name}`);
      w.registry.track(input.node);
      return id;
    },
    async connect(id) {
      const link = new FakeLink(id, '127.0.0.1');
      await w.registry.attach(link, null, '0.1.0');
      await w.registry.report(id, health());
      return link;
    },
    async run(ms, each) {
      for (let done = 0; done < ms; done += 1_000) {
        clock.advance(1_000);
        each?.();
        await w.registry.sweep();
      }
    },
    async transitions(id) {
      return (await store.listEvents({ type: 'node.state', nodeId: id, limit: 100 })).map(
        (e) => `${String(e.data.from)} -> ${String(e.data.to)}`,
      );
    },
    flush: () => batcher.flush(),
    async restart() {
      w.registry = make();
      await w.registry.load();
      return w.registry;
    },
  };
  return w;
}

const kube = (over: Partial<KubeView> = {}): KubeView => ({
  ready: true,
  unschedulable: false,
  kubeletVersion: 'v1.31.4+k3s1',
  taints: [],
  problems: [],
  ...over,
});

test('a connected node goes ready; silent past the window its half-open link is closed and it goes unreachable', async (t) => {
  const w = await world(t);
  const id = await w.join('a');
  const link = await w.connect(id);
  assert.equal(w.registry.snapshotOf(id)?.state, 'ready');
  assert.equal(w.registry.snapshotOf(id)?.connected, true);

  await w.run(UNREACHABLE_MS - 1_000);
  assert.equal(w.registry.snapshotOf(id)?.state, 'ready', 'still inside the window');
  assert.equal(link.closed, false);

  await w.run(1_000);
  const s = w.registry.snapshotOf(id)!;
  assert.equal(s.state, 'unreachable');
  assert.deepEqual(s.reasons, ['no-report']);
  assert.equal(s.connected, false);
  assert.equal(s.disconnectedAt, w.clock.mono());
  assert.equal(link.closed, true);
  assert.equal((await w.store.getNode(id))?.state, 'unreachable');
  assert.deepEqual(await w.transitions(id), ['joining -> ready', 'ready -> unreachable']);
});

test('any frame keeps a node alive; a reconnect after silence brings it back to ready', async (t) => {
  const w = await world(t);
  const id = await w.join('a');
  await w.connect(id);
  await w.run(5 * UNREACHABLE_MS, () => w.registry.touch(id));
  assert.equal(w.registry.snapshotOf(id)?.state, 'ready');

  await w.run(UNREACHABLE_MS);
  assert.equal(w.registry.snapshotOf(id)?.state, 'unreachable');
  await w.connect(id);
  assert.equal(w.registry.snapshotOf(id)?.state, 'ready');
  assert.equal(w.registry.snapshotOf(id)?.linkFlaps, 1);
  assert.deepEqual(await w.transitions(id), ['joining -> ready', 'ready -> unreachable', 'unreachable -> ready']);
});

test('liveness runs on the monotonic clock: a wall-clock step neither expires nor extends a node', async (t) => {
  const w = await world(t);
  const id = await w.join('a');
  await w.connect(id);
  w.clock.step(6 * 3_600_000);
  await w.registry.sweep();
  assert.equal(w.registry.snapshotOf(id)?.state, 'ready', 'a jump ahead is not silence');
  w.clock.step(-12 * 3_600_000);
  await w.run(UNREACHABLE_MS);
  assert.equal(w.registry.snapshotOf(id)?.state, 'unreachable', 'a jump back does not extend the window');
});

test('a node that joined and never connected goes unreachable after the window from its join', async (t) => {
  const w = await world(t);
  const id = await w.join('a');
  await w.run(UNREACHABLE_MS - 1_000);
  assert.equal(w.registry.snapshotOf(id)?.state, 'joining');
  await w.run(1_000);
  assert.equal(w.registry.snapshotOf(id)?.state, 'unreachable');
});

test('reports and the Kubernetes view move the state: degraded with reasons, cordoned, back to ready', async (t) => {
  const w = await world(t);
  const id = await w.join('a');
  await w.connect(id);
  await w.registry.report(id, health('crashed'));
  assert.equal(w.registry.snapshotOf(id)?.state, 'degraded');
  assert.deepEqual(w.registry.snapshotOf(id)?.reasons, ['k3s-crashed']);
  await w.registry.report(id, health('running', 10 * 60_000));
  assert.deepEqual(w.registry.snapshotOf(id)?.reasons, ['clock-skew']);
  await w.registry.report(id, health());
  await w.registry.kubeUpdate('a', kube({ ready: false }));
  assert.deepEqual(w.registry.snapshotOf(id)?.reasons, ['kubelet-not-ready']);
  await w.registry.kubeUpdate('a', kube({ unschedulable: true }));
  assert.equal(w.registry.snapshotOf(id)?.state, 'cordoned');
  await w.registry.kubeUpdate('a', kube());
  assert.equal(w.registry.snapshotOf(id)?.state, 'ready');
  // The API going away makes readiness unknown, not NotReady: no state change.
  w.registry.kubeUnknown();
  assert.equal(w.registry.kubeView(id)?.ready, null);
  assert.deepEqual(await w.transitions(id), [
    'joining -> ready',
    'ready -> degraded',
    'degraded -> ready',
    'ready -> degraded',
    'degraded -> cordoned',
    'cordoned -> ready',
  ]);
});

test('a workflow state holds against reports and silence; released, the node follows its link again', async (t) => {
  const w = await world(t);
  const id = await w.join('a');
  const link = await w.connect(id);
  await w.registry.setWorkflow(id, 'upgrading', 'k3s upgrade');
  await w.registry.report(id, health('crashed'));
  assert.equal(w.registry.snapshotOf(id)?.state, 'upgrading');
  assert.deepEqual(w.registry.snapshotOf(id)?.reasons, ['k3s-crashed'], 'reasons stay current for the workflow');

  await w.run(2 * UNREACHABLE_MS);
  assert.equal(link.closed, true, 'a silent link is closed even in a workflow');
  assert.equal(w.registry.snapshotOf(id)?.state, 'upgrading', 'the workflow decides what silence means');

  await w.registry.setWorkflow(id, null, 'upgrade over');
  assert.equal(w.registry.snapshotOf(id)?.state, 'unreachable');
  // Back: its last report (k3s crashed) counts until the next one says otherwise.
  await w.registry.attach(new FakeLink(id, '127.0.0.1'), null, '0.1.0');
  assert.equal(w.registry.snapshotOf(id)?.state, 'degraded');
  await w.registry.report(id, health());
  assert.equal(w.registry.snapshotOf(id)?.state, 'ready');
  await w.registry.setWorkflow(id, 'remediating', 'autoheal');
  await w.registry.setWorkflow(id, null, 'healed');
  assert.equal(w.registry.snapshotOf(id)?.state, 'ready');
  assert.deepEqual(await w.transitions(id), [
    'joining -> ready',
    'ready -> upgrading',
    'upgrading -> unreachable',
    'unreachable -> degraded',
    'degraded -> ready',
    'ready -> remediating',
    'remediating -> ready',
  ]);
});

test('after a hub restart a node gets what is left of its window from its stored lastSeen, never more', async (t) => {
  const w = await world(t);
  const fresh = await w.join('fresh');
  const stale = await w.join('stale');
  await w.connect(fresh);
  await w.connect(stale);
  // Hours later (both kept alive), the hub stops; the store remembers stale from long ago, fresh from 4 s ago.
  w.clock.advance(2 * 3_600_000);
  w.registry.touch(fresh);
  w.registry.touch(stale);
  await w.flush();
  await w.store.updateNode(stale, { lastSeen: new Date(w.clock.now() - 3_600_000).toISOString() });
  await w.store.updateNode(fresh, { lastSeen: new Date(w.clock.now() - 4_000).toISOString() });
  const r = await w.restart();
  assert.equal(r.snapshotOf(fresh)?.connected, false);
  await r.sweep();
  assert.equal(r.snapshotOf(stale)?.state, 'unreachable');
  assert.equal(r.snapshotOf(fresh)?.state, 'ready');
  await w.run(UNREACHABLE_MS - 5_000);
  assert.equal(r.snapshotOf(fresh)?.state, 'ready');
  await w.run(1_000);
  assert.equal(r.snapshotOf(fresh)?.state, 'unreachable');
});

test('retire forgets the node and its name; its agent is told and waited for', async (t) => {
  const w = await world(t);
  const id = await w.join('a');
  const link = await w.connect(id);
  assert.equal(w.registry.idByName('a'), id);
  assert.equal(await w.registry.retire(id, 'removed', 1_000), true);
  assert.equal(link.closed, true);
  assert.equal(w.registry.has(id), false);
  assert.equal(w.registry.idByName('a'), undefined);
  assert.equal(w.registry.snapshotOf(id), undefined);
  await w.run(2 * UNREACHABLE_MS);
  assert.deepEqual(await w.transitions(id), ['joining -> ready']);
});

test('a reconnect to present a renewed certificate is not a link flap; other reconnects are', async (t) => {
  const w = await world(t);
  const id = await w.join('a');
  let link = await w.connect(id);
  for (let i = 0; i < 3; i++) {
    await w.registry.detach(link, 'agent closed: CERT_RENEWED reconnecting with the renewed certificate');
    link = await w.connect(id);
  }
  assert.equal(w.registry.snapshotOf(id)?.linkFlaps ?? 0, 0, 'three renewals, no flap');
  await w.registry.detach(link, 'websocket closed (1006)');
  link = await w.connect(id);
  assert.equal(w.registry.snapshotOf(id)?.linkFlaps, 1, 'a dropped link is one');
});

test('a node that joined through another hub gets its Kubernetes view here, by the node id its Node is labelled with', async (t) => {
  const w = await world(t);
  // Joined (on the shared store) after this registry was made: it never tracked the node.
  const stale = w.registry;
  await w.restart();
  const id = await w.join('b');
  w.registry = stale;
  assert.equal(w.registry.kubeView(id), undefined);
  // A Node of that name without the label, or labelled with another node's id: not this node.
  await w.registry.kubeUpdate('b', kube());
  await w.registry.kubeUpdate('b', kube({ labels: { 'atoll.dev/node-id': 'n-someone-else' } }));
  assert.equal(w.registry.kubeView(id), undefined);
  await w.registry.kubeUpdate('c', kube({ labels: { 'atoll.dev/node-id': id } }));
  assert.equal(w.registry.kubeView(id), undefined, 'the label on a Node of another name names nothing');
  await w.registry.kubeUpdate('b', kube({ ready: true, labels: { 'atoll.dev/node-id': id } }));
  assert.equal(w.registry.kubeView(id)?.ready, true);
  assert.equal(w.registry.idByName('b'), id);
});

test('a node whose link is on another hub is not made unreachable here while that hub stores its lastSeen', async (t) => {
  const w = await world(t);
  const id = await w.join('a');
  await w.connect(id);
  // Its agent moved to another hub (shared store): the link here closed; that hub stores its lastSeen.
  await w.registry.detach(w.registry.link(id)!, 'HUB_DRAINING');
  const seenElsewhere = () =>
    void w.store.recordHealth([{ nodeId: id, lastSeen: new Date(w.clock.now()).toISOString(), health: null }]);
  for (let i = 0; i < 3 * UNREACHABLE_MS; i += 1_000) {
    await w.run(1_000);
    seenElsewhere();
  }
  assert.equal((await w.store.getNode(id))?.state, 'ready', 'never unreachable while seen elsewhere');
  // That hub dies too: a window after the last stored lastSeen, the node is unreachable.
  await w.run(UNREACHABLE_MS - 2_000);
  assert.equal((await w.store.getNode(id))?.state, 'ready');
  await w.run(3_000);
  assert.equal((await w.store.getNode(id))?.state, 'unreachable');
  assert.deepEqual(await w.transitions(id), ['joining -> ready', 'ready -> unreachable']);
});
