// A whole autoheal engine on a real SQLite store, a real registry and event log, with fake agent
// links, a fake Kubernetes client and a fake clock: ticks are called by the test, so the ladder,
// the guard and pacing run deterministically in milliseconds.
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { openSqliteStore } from '../../../hub/store/index.js';
import type { EventRecord, HealthRecord, Store } from '../../../hub/store/types.js';
import { createEventLog, type EventLog } from '../../../hub/events.js';
import { createLogger } from '../../../hub/logger.js';
import { createHealthBatcher } from '../../../hub/nodes/health-batcher.js';
import { NodeRegistry, type AgentLink, type CommandOutcome, type KubeView } from '../../../hub/nodes/registry.js';
import { AutohealEngine, type AutohealDeps } from '../../../hub/autoheal/engine.js';
import { AutohealSettings, type PoolAutoheal } from '../../../hub/autoheal/settings.js';
import type { ControlPlaneInfo } from '../../../hub/k3s/supervisor.js';
import { tempDir, token, enrollInput } from '../store/helpers.js';

/** A clock the test moves: wall time can step, monotonic time only advances. */
export class FakeClock {
  wallMs = Date.parse('2030-01-01T00:00:00Z');
  monoMs = 1_000_000;
  now = (): number => this.wallMs;
  mono = (): number => this.monoMs;
  /** Both clocks advance by ms (time passes). */
  advance(ms: number): void {
    this.wallMs += ms;
    this.monoMs += ms;
  }
  /** Only the wall clock moves (someone set the date). */
  step(ms: number): void {
    this.wallMs += ms;
  }
}

export class FakeLink implements AgentLink {
  readonly connectedAt = Date.now();
  readonly k3sMode = 'auto';
  readonly commands: string[] = [];
  closed = false;
  constructor(
    readonly nodeId: string,
    readonly remoteAddress: string,
  ) {}
  close(): void {
    this.closed = true;
  }
  async retire(): Promise<boolean> {
    this.closed = true;
    return true;
  }
  async command(action: string): Promise<CommandOutcome> {
    this.commands.push(action);
    return { ok: true, errorCode: '', message: 'done' };
  }
  sendCommand(): boolean {
    return true;
  }
  assignK3s(): boolean {
    return true;
  }
}

export class FakeKube {
  readonly calls: string[] = [];
  readonly nodes = new Set<string>();
  async getNode(name: string): Promise<{ name: string } | undefined> {
    return this.nodes.has(name) ? { name } : undefined;
  }
  async cordon(name: string): Promise<void> {
    this.calls.push(`cordon ${name}`);
  }
  async uncordon(name: string): Promise<void> {
    this.calls.push(`uncordon ${name}`);
  }
  async drain(name: string): Promise<{ evicted: number }> {
    this.calls.push(`drain ${name}`);
    return { evicted: 0 };
  }
}

export const FAST: Partial<PoolAutoheal> = {
  afterRestart: '10s',
  afterReboot: '20s',
  afterReplace: '30s',
  provenAfter: '10s',
  minHealthyPeriod: '1m',
  cooldownMin: '5s',
  cooldownMax: '5s',
  drainTimeout: '1s',
  replaceTimeout: '1m',
  maxUnhealthyPercent: 100,
};

export function health(k3s = 'running', clockSkewMs = 0): HealthRecord {
  return {
    receivedAt: new Date().toISOString(),
    cpuPercent: 1,
    memoryTotalBytes: 8e9,
    memoryUsedBytes: 1e9,
    diskTotalBytes: 1e11,
    diskUsedBytes: 1e10,
    load1: 0,
    load5: 0,
    load15: 0,
    uptimeSeconds: 100,
    k3s: { state: k3s, version: 'v1.31.4+k3s1', kubeletHealthy: k3s === 'running', restarts: 0, lastLogLines: [] },
    clockSkewMs,
  };
}

export interface Harness {
  store: Store;
  events: EventLog;
  registry: NodeRegistry;
  engine: AutohealEngine;
  settings: AutohealSettings;
  clock: FakeClock;
  kube: FakeKube;
  cp: { info: ControlPlaneInfo };
  links: Map<string, FakeLink>;
  /** A joined node (tracked, not connected). */
  join(
    name: string,
    over?: { pool?: string; addresses?: string[]; labels?: Record<string, string>; tokenId?: string },
  ): Promise<string>;
  connect(id: string, remote?: string): Promise<FakeLink>;
  disconnect(id: string): Promise<void>;
  report(id: string, k3s?: string, skewMs?: number): Promise<void>;
  kubeReady(id: string, ready: boolean | null): Promise<void>;
  /** Moves time by ms in steps of stepMs, sweeping and ticking after each. */
  run(ms: number, stepMs?: number): Promise<void>;
  tick(): Promise<void>;
  list(type?: string, nodeId?: string): Promise<EventRecord[]>;
  steps(nodeId: string): Promise<string[]>;
  /** A hub restart: a new registry loaded from the store and a new engine; no agent is connected. */
  restart(): Promise<void>;
}

export async function harness(
  t: TestContext,
  opts: {
    pool?: Partial<PoolAutoheal>;
    deps?: Partial<AutohealDeps>;
    unreachableAfterMs?: number;
    clock?: FakeClock;
  } = {},
): Promise<Harness> {
  const store = await openSqliteStore({ path: join(tempDir(t), 'hub.db') });
  const logger = createLogger('silent');
  const events = createEventLog(store, logger);
  const clock = opts.clock ?? new FakeClock();
  const batcher = createHealthBatcher(store, logger);
  t.after(async () => {
    await batcher.stop();
    await store.close();
  });
  const newRegistry = (): NodeRegistry =>
    new NodeRegistry({ store, events, batcher, logger, unreachableAfterMs: opts.unreachableAfterMs ?? 3_000, clock });
  const kube = new FakeKube();
  const cp = {
    info: {
      state: 'running',
      version: 'v1.31.4+k3s1',
      message: 'serving',
      restarts: 0,
      since: '',
      lastLogLines: [],
    } as ControlPlaneInfo,
  };
  const controlPlane = {
    info: () => cp.info,
    client: () => (cp.info.state === 'running' ? kube : undefined),
  } as unknown as AutohealDeps['controlPlane'];
  const settings = new AutohealSettings(store);
  await settings.setPool('default', { ...FAST, ...opts.pool });
  const links = new Map<string, FakeLink>();
  let tokens = 0;
  const makeEngine = (): AutohealEngine =>
    new AutohealEngine({
      store,
      events,
      registry: h.registry,
      controlPlane,
      logger,
      settings,
      removeNode: async (id) => {
        await h.registry.retire(id, 'removed', 0);
        return store.deleteNode(id, new Date(clock.now()).toISOString());
      },
      cloudInit: async () => ({ doc: '#cloud-config\n', tokenId: 'tok-replacement' }),
      intervalMs: 1_000,
      guardWindowMs: 120_000,
      startupGraceMs: 5_000,
      flapWindowMs: 900_000,
      clock,
      ...opts.deps,
    });
  const h: Harness = {
    store,
    events,
    registry: newRegistry(),
    settings,
    clock,
    kube,
    cp,
    links,
    engine: undefined as unknown as AutohealEngine,
    async join(name, over = {}) {
      const tokenId = over.tokenId ?? `tok${++tokens}`;
      if (!(await store.getToken(tokenId)))
        await store.createToken(
          token(tokenId, {
            pool: over.pool ?? 'default',
            expiresAt: new Date(clock.now() + 3_600_000).toISOString(),
            maxUses: null,
          }),
        );
      const id = `n-${name}`;
      const input = enrollInput(tokenId, id, new Date(clock.now()).toISOString());
      input.node = {
        ...input.node,
        name,
        pool: over.pool ?? 'default',
        createdAt: new Date(clock.now()).toISOString(),
        labels: over.labels ?? {},
        facts: { ...input.node.facts, addresses: over.addresses ?? ['10.1.1.1'] },
      };
      input.event = {
        type: 'node.joined',
        nodeId: id,
        pool: input.node.pool,
        actor: `token:${tokenId}`,
        message: `node ${name} joined`,
        data: { source: '127.0.0.9' },
      };
      const outcome = await store.enroll(input);
      if (outcome !== 'ok') throw new Error(`enroll ${name}: ${outcome}`);
      h.registry.track(input.node);
      kube.nodes.add(name);
      return id;
    },
    async connect(id, remote = '127.0.0.1') {
      const link = new FakeLink(id, remote);
      links.set(id, link);
      await h.registry.attach(link, null, '0.1.0');
      await h.registry.report(id, health());
      return link;
    },
    async disconnect(id) {
      const link = links.get(id);
      if (link) await h.registry.detach(link, 'test');
      links.delete(id);
    },
    async report(id, k3s = 'running', skewMs = 0) {
      await h.registry.report(id, health(k3s, skewMs));
    },
    async kubeReady(id, ready) {
      const name = (await store.getNode(id))!.name;
      const view: KubeView = { ready, unschedulable: false, kubeletVersion: 'v1.31.4+k3s1', taints: [], problems: [] };
      await h.registry.kubeUpdate(name, view);
    },
    async tick() {
      await h.engine.tick();
    },
    async run(ms, stepMs = 1_000) {
      for (let done = 0; done < ms; done += stepMs) {
        clock.advance(stepMs);
        // Connected nodes keep reporting what they last said (a live agent reports every few seconds).
        for (const id of links.keys()) {
          if (h.registry.snapshotOf(id)) h.registry.touch(id);
        }
        await h.registry.sweep();
        await h.engine.tick();
      }
    },
    async list(type, nodeId) {
      return store.listEvents({ type, nodeId, limit: 1000 });
    },
    async steps(nodeId) {
      return (await store.listEvents({ type: 'autoheal.step', nodeId, limit: 1000 })).map((e) => String(e.data.action));
    },
    async restart() {
      links.clear();
      h.registry = newRegistry();
      await h.registry.load();
      h.engine = makeEngine();
    },
  };
  h.engine = makeEngine();
  return h;
}
