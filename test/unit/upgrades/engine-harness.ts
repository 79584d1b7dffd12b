// A whole UpgradeEngine on a real SQLite store, a real registry and event log, with a fake control
// plane, fake kubelets (the agents' side of an assignment) and a fake clock that every wait of the
// engine advances: a rollout with minutes of dwell and verify runs deterministically in milliseconds.
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { openSqliteStore } from '../../../hub/store/index.js';
import type { EventRecord, Store } from '../../../hub/store/types.js';
import { createEventLog, type EventLog } from '../../../hub/events.js';
import { createLogger } from '../../../hub/logger.js';
import { createHealthBatcher } from '../../../hub/nodes/health-batcher.js';
import { NodeRegistry } from '../../../hub/nodes/registry.js';
import { AutohealSettings } from '../../../hub/autoheal/settings.js';
import { UpgradeEngine, type UpgradeEngineDeps } from '../../../hub/upgrades/engine.js';
import { ACTIVE_STATES, type Rollout } from '../../../hub/upgrades/rollout-state.js';
import type { K3sArtifact } from '../../../hub/artifacts/artifact-store.js';
import type { KubeNodeSummary } from '../../../hub/k3s/kube.js';
import { FakeClock, FakeLink, health } from '../hub/autoheal-harness.js';
import { enrollInput, tempDir, token } from '../store/helpers.js';

export const FROM = 'v1.31.4+k3s1';
export const TO = 'v1.31.5+k3s1';

/** The Kubernetes side: the hub's k3s server and every node's kubelet, with what was done to them. */
export class FakeCluster {
  cpVersion = FROM;
  cpState: 'running' | 'starting' = 'running';
  /** Whether the k3s server serves again after a binary swap. */
  newServerServes = true;
  /** Nodes whose kubelet never gets Ready on a version other than the one it started on. */
  readonly broken = new Set<string>();
  readonly kubelets = new Map<string, { version: string; ready: boolean; first: string }>();
  /** What happened, in order, each with the engine's monotonic time: "cordon n1", "assign n1 v…", "cp swap v…". */
  readonly calls: Array<{ what: string; at: number }> = [];
  private cpPrevious = FROM;

  constructor(private readonly clock: FakeClock) {}

  did(what: string): void {
    this.calls.push({ what, at: this.clock.mono() });
  }

  /** The calls, without times. */
  log(filter?: RegExp): string[] {
    return this.calls.map((c) => c.what).filter((w) => !filter || filter.test(w));
  }

  /** When a call happened (monotonic ms); throws if it did not. */
  at(what: string): number {
    const c = this.calls.find((x) => x.what === what);
    if (!c) throw new Error(`no call "${what}" in ${JSON.stringify(this.log())}`);
    return c.at;
  }

  readonly kube = {
    cordon: async (name: string) => this.did(`cordon ${name}`),
    uncordon: async (name: string) => this.did(`uncordon ${name}`),
    drain: async (name: string) => {
      this.did(`drain ${name}`);
      return { evicted: [] as string[], skipped: [] as string[] };
    },
  };

  readonly controlPlane = {
    version: () => this.cpVersion,
    upgradable: () => true,
    arch: () => 'amd64',
    running: () => this.cpState === 'running',
    info: () => ({
      state: this.cpState,
      message: this.cpState === 'running' ? 'serving' : 'waiting for the API',
      restarts: 0,
      since: '',
      lastLogLines: [],
    }),
    client: () => (this.cpState === 'running' ? this.kube : undefined),
    kubeNode: (name: string): Partial<KubeNodeSummary> | undefined => {
      const k = this.kubelets.get(name);
      return (
        k && {
          name,
          ready: k.ready,
          readyReason: k.ready ? 'KubeletReady' : 'KubeletNotReady',
          kubeletVersion: k.version,
        }
      );
    },
    upgradeTo: async (art: K3sArtifact) => {
      this.did(`cp swap ${art.version}`);
      this.cpPrevious = this.cpVersion;
      this.cpVersion = art.version;
      if (!this.newServerServes) this.cpState = 'starting';
    },
    rollbackUpgrade: async () => {
      this.did(`cp rollback ${this.cpPrevious}`);
      this.cpVersion = this.cpPrevious;
      this.cpState = 'running';
      return this.cpPrevious;
    },
  };

  /** The agents: a new desired version restarts the kubelet on it (Ready unless the node is broken). */
  readonly nodeK3s = {
    setDesiredVersion: async (nodeId: string, version: string) => {
      const name = nodeId.replace(/^n-/, '');
      const k = this.kubelets.get(name)!;
      this.did(`assign ${name} ${version}`);
      k.version = version;
      k.ready = !(this.broken.has(name) && version !== k.first);
      return true;
    },
  };
}

export interface UpgradeHarness {
  store: Store;
  events: EventLog;
  registry: NodeRegistry;
  engine: UpgradeEngine;
  clock: FakeClock;
  cluster: FakeCluster;
  /** A joined, connected node running k3s `FROM` with a Ready kubelet; its id is n-<name>. */
  node(name: string): Promise<string>;
  /** Waits (bounded) until the rollout is no longer active; returns it as stored. */
  settle(id: string): Promise<Rollout>;
  /** Waits (bounded) until the stored rollout satisfies `ok`. */
  until(id: string, ok: (r: Rollout) => boolean): Promise<Rollout>;
  list(type?: string, nodeId?: string): Promise<EventRecord[]>;
  /** The phases a node went through, from its upgrade.step / upgrade.node-failed events. */
  phases(nodeId: string): Promise<string[]>;
}

export async function upgradeHarness(t: TestContext, over: Partial<UpgradeEngineDeps> = {}): Promise<UpgradeHarness> {
  const dir = tempDir(t);
  const store = await openSqliteStore({ path: join(dir, 'hub.db') });
  const logger = createLogger('silent');
  const events = createEventLog(store, logger);
  const clock = new FakeClock();
  const batcher = createHealthBatcher(store, logger);
  const registry = new NodeRegistry({ store, events, batcher, logger, unreachableAfterMs: 30_000, clock });
  const cluster = new FakeCluster(clock);
  const artifacts = {
    getK3s: (version: string, arch: string) => (version === TO ? { version, arch, sha256: 'x', size: 1 } : undefined),
    listK3s: () => [{ version: TO, arch: 'amd64', sha256: 'x', size: 1 }],
    agents: { get: () => undefined, list: () => [] },
  };
  const engine = new UpgradeEngine({
    store,
    events,
    registry,
    logger,
    autohealSettings: new AutohealSettings(store),
    controlPlane: cluster.controlPlane as unknown as UpgradeEngineDeps['controlPlane'],
    nodeK3s: cluster.nodeK3s as unknown as UpgradeEngineDeps['nodeK3s'],
    artifacts: artifacts as unknown as UpgradeEngineDeps['artifacts'],
    clock,
    // Every wait of the engine moves the fake clock; setImmediate lets the test and the store run.
    sleep: async (ms) => {
      clock.advance(ms);
      await new Promise((res) => setImmediate(res));
    },
    ...over,
  });
  t.after(async () => {
    await engine.stop();
    await batcher.stop();
    await store.close();
  });
  const until = async (id: string, ok: (r: Rollout) => boolean): Promise<Rollout> => {
    const limit = Date.now() + 20_000;
    for (let i = 0; i < 100_000 && Date.now() < limit; i++) {
      const r = await engine.get(id);
      if (r && ok(r)) return r;
      await new Promise((res) => setTimeout(res, 5));
    }
    throw new Error(`rollout ${id} did not get there: ${JSON.stringify(await engine.get(id))}`);
  };
  return {
    store,
    events,
    registry,
    engine,
    clock,
    cluster,
    async node(name) {
      const id = `n-${name}`;
      const tokenId = `tok-${name}`;
      await store.createToken(token(tokenId, { expiresAt: new Date(clock.now() + 3_600_000).toISOString() }));
      const input = enrollInput(tokenId, id, new Date(clock.now()).toISOString());
      input.node = { ...input.node, name, createdAt: new Date(clock.now()).toISOString() };
      if ((await store.enroll(input)) !== 'ok') throw new Error(`enroll ${name}`);
      registry.track(input.node);
      cluster.kubelets.set(name, { version: FROM, ready: true, first: FROM });
      await registry.attach(new FakeLink(id, '127.0.0.1'), null, '0.1.0');
      await registry.report(id, health());
      await registry.kubeUpdate(name, {
        ready: true,
        unschedulable: false,
        kubeletVersion: FROM,
        taints: [],
        problems: [],
      });
      return id;
    },
    settle: (id) => until(id, (r) => !ACTIVE_STATES.has(r.state)),
    until,
    list: (type, nodeId) => store.listEvents({ type, nodeId, limit: 1000 }),
    async phases(nodeId) {
      const evs = await store.listEvents({ nodeId, limit: 1000 });
      return evs
        .filter((e) => e.type === 'upgrade.step' || e.type === 'upgrade.node-failed')
        .filter((e) => e.data.phase)
        .map((e) => String(e.data.phase));
    },
  };
}
