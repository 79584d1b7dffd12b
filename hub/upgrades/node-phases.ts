// One node of a rollout, phase by phase. k3s: preflight (agent connected, node Ready), cordon, drain,
// swap (a new assignment with the new version), verify (Ready on the new kubeletVersion with a healthy
// agent for the dwell time), uncordon. A failed verify rolls the node back to its previous version and
// uncordons it. Agent rollouts hand the node to agent-node.ts. A resumed rollout goes on from the
// stored phase; the node is held in the "upgrading" workflow state meanwhile.
import type { EventLog } from '../events.js';
import type { Store } from '../store/types.js';
import type { NodeRegistry } from '../nodes/registry.js';
import type { ControlPlane } from '../k3s/control-plane.js';
import type { NodeK3s } from '../k3s/node-k3s.js';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { AgentNodeUpgrader } from './agent-node.js';
import type { NodePhase, NodeProgress, Rollout } from './rollout-state.js';
import type { RolloutRuntime } from './runtime.js';

export interface NodePhasesDeps {
  store: Store;
  events: EventLog;
  registry: NodeRegistry;
  controlPlane: ControlPlane;
  nodeK3s: NodeK3s;
  artifacts: ArtifactStore;
  /** Several hubs: the k3s state an agent connected to another hub last reported, or undefined when it is connected nowhere. */
  heldElsewhere?: (nodeId: string) => Promise<{ k3sState: string } | undefined>;
}

const ORDER: NodePhase[] = ['pending', 'preflight', 'cordon', 'drain', 'swap', 'verify', 'uncordon'];

export class NodePhases {
  private readonly agentUpgrader: AgentNodeUpgrader;

  constructor(
    private readonly d: NodePhasesDeps,
    private readonly rt: RolloutRuntime,
  ) {
    this.agentUpgrader = new AgentNodeUpgrader({ store: d.store, registry: d.registry, bundles: d.artifacts.agents });
  }

  /** Runs (or resumes) one node of a k3s rollout until a final phase. */
  async k3s(r: Rollout, n: NodeProgress): Promise<void> {
    const at = ORDER.indexOf(n.phase);
    if (n.phase === 'rollback') return this.rollback(r, n, n.message);
    if (at <= ORDER.indexOf('preflight')) {
      await this.rt.nodePhase(r, n, 'preflight', 'agent connected and node Ready?');
      const kube = this.d.controlPlane.kubeNode(n.name);
      if (kube?.kubeletVersion === r.version) return this.rt.nodePhase(r, n, 'skipped', `already on ${r.version}`);
      const ready = await this.rt.waitUntil(
        this.serving(n, kube?.kubeletVersion ?? n.from),
        Math.min(r.verifyTimeoutMs, 30_000),
      );
      if (ready !== true)
        return this.rt.nodePhase(r, n, 'upgrade-blocked', `preflight failed: ${ready}; nothing was changed`);
    }
    await this.d.registry.setWorkflow(n.id, 'upgrading', `k3s upgrade to ${r.version} (rollout ${r.id})`);
    const kube = await this.rt.kube();
    if (at <= ORDER.indexOf('cordon')) {
      await this.rt.nodePhase(r, n, 'cordon', '');
      await kube.cordon(n.name);
      n.cordoned = true;
      await this.rt.save(r);
    }
    if (at <= ORDER.indexOf('drain')) {
      await this.rt.nodePhase(
        r,
        n,
        'drain',
        `timeout ${Math.round(r.drain.timeoutMs / 1000)}s${r.drain.force ? ', force' : ''}`,
      );
      try {
        const res = await kube.drain(n.name, {
          timeoutMs: r.drain.timeoutMs,
          ignoreDaemonSets: r.drain.ignoreDaemonSets,
          deleteEmptyDirData: r.drain.deleteEmptyDirData,
          force: r.drain.force,
        });
        await this.d.events.note({
          type: 'upgrade.step',
          nodeId: n.id,
          pool: n.pool,
          actor: 'hub',
          message: `${n.name}: drained, ${res.evicted.length} pod(s) evicted`,
          data: { rolloutId: r.id, ...res },
        });
      } catch (err) {
        // Never changed: always uncordoned; the others go on.
        await this.uncordon(r, n);
        await this.release(n, 'upgrade blocked by its drain');
        return this.rt.nodePhase(
          r,
          n,
          'upgrade-blocked',
          `drain did not finish: ${(err as Error).message}; uncordoned, not upgraded`,
        );
      }
    }
    if (at < ORDER.indexOf('swap')) {
      n.swapped = true;
      await this.rt.nodePhase(r, n, 'swap', `${n.from} -> ${r.version}`);
      await this.d.nodeK3s.setDesiredVersion(n.id, r.version);
    } else if (at === ORDER.indexOf('swap')) {
      // Resumed at its stored swap (the leader changed there): the same assignment again, which the
      // agent takes as done when it already runs that version. Not a second swap.
      await this.d.nodeK3s.setDesiredVersion(n.id, r.version);
      await this.d.events.note({
        type: 'upgrade.step',
        nodeId: n.id,
        pool: n.pool,
        actor: 'hub',
        message: `${n.name}: swap resumed: the assignment to ${r.version} sent again (the agent ignores a repeat)`,
        data: { rolloutId: r.id, resumed: 'swap' },
      });
    }
    if (at <= ORDER.indexOf('verify')) {
      await this.rt.nodePhase(
        r,
        n,
        'verify',
        `Ready on ${r.version} for ${Math.round(r.dwellMs / 1000)}s within ${Math.round(r.verifyTimeoutMs / 1000)}s`,
      );
      // A resumed verify re-sends the assignment (idempotent on the agent).
      if (at === ORDER.indexOf('verify')) await this.d.nodeK3s.setDesiredVersion(n.id, r.version);
      const ok = await this.rt.waitUntil(this.serving(n, r.version), r.verifyTimeoutMs, r.dwellMs);
      if (ok !== true) return this.rollback(r, n, `verify failed: ${ok}`);
    }
    await this.rt.nodePhase(r, n, 'uncordon', '');
    await this.uncordon(r, n);
    await this.release(n, `k3s upgraded to ${r.version}`);
    await this.rt.nodePhase(r, n, 'done', `upgraded ${n.from} -> ${r.version}`);
  }

  /** Runs (or resumes) one node of an agent self-upgrade rollout (agent-node.ts). */
  async agent(r: Rollout, n: NodeProgress): Promise<void> {
    const hooks = {
      phase: (rr: Rollout, nn: NodeProgress, p: NodePhase, m: string) => this.rt.nodePhase(rr, nn, p, m),
      waitUntil: (ok: () => Promise<string | true>, limitMs: number, dwellMs: number) =>
        this.rt.waitUntil(ok, limitMs, dwellMs),
    };
    await this.d.registry.setWorkflow(n.id, 'upgrading', `agent upgrade to ${r.version} (rollout ${r.id})`);
    try {
      await this.agentUpgrader.upgrade(r, n, hooks);
    } finally {
      if (!this.rt.isStopped) await this.release(n, `agent upgrade to ${r.version}: ${n.phase}`);
    }
  }

  /** The agent goes back to its previous version (it kept the binary; the download is SHA-checked), then the node is uncordoned. */
  private async rollback(r: Rollout, n: NodeProgress, reason: string): Promise<void> {
    await this.rt.nodePhase(r, n, 'rollback', reason);
    await this.d.nodeK3s.setDesiredVersion(n.id, n.from);
    const back = await this.rt.waitUntil(this.serving(n, n.from), r.verifyTimeoutMs);
    if (back === true) {
      await this.uncordon(r, n);
      await this.release(n, `k3s upgrade to ${r.version} failed and was rolled back`);
      await this.rt.nodePhase(r, n, 'upgrade-failed', `${reason}; rolled back to ${n.from} and uncordoned`);
    } else {
      await this.release(n, `k3s upgrade to ${r.version} failed; the rollback did not come back`);
      await this.rt.nodePhase(
        r,
        n,
        'upgrade-failed',
        `${reason}; rolled back to ${n.from} but the node did not come back (${back}); left cordoned`,
      );
    }
  }

  /** Whether the node serves on `version`: agent connected with k3s running, kube Node Ready on that kubeletVersion. */
  private serving(n: NodeProgress, version: string): () => Promise<string | true> {
    return async () => {
      const s = this.d.registry.snapshotOf(n.id);
      // An agent connected to another hub (several hubs) counts with what it last reported there.
      const k3sState = s?.connected ? s.k3sState : (await this.d.heldElsewhere?.(n.id))?.k3sState;
      const kube = this.d.controlPlane.kubeNode(n.name);
      if (k3sState === undefined) return 'the agent is not connected';
      if (!kube) return 'no Kubernetes node';
      if (kube.ready !== true) return `the node is not Ready (${kube.readyReason || 'unknown'})`;
      if (kube.kubeletVersion !== version) return `kubelet runs ${kube.kubeletVersion}, not ${version}`;
      if (k3sState !== 'running') return `the agent reports k3s ${k3sState}`;
      return true;
    };
  }

  private async release(n: NodeProgress, why: string): Promise<void> {
    await this.d.registry.setWorkflow(n.id, null, why);
  }

  private async uncordon(r: Rollout, n: NodeProgress): Promise<void> {
    if (!n.cordoned) return;
    await (await this.rt.kube()).uncordon(n.name);
    n.cordoned = false;
    await this.rt.save(r);
  }
}
