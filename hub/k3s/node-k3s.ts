// The k3s side of nodes: what each agent should run (server, version, its own bootstrap token,
// labels, taints), and taking a node out of the cluster when it is removed.
import type { K3sAssignment } from '../../proto/index.js';
import type { K3sTokenCreds, NodeRecord, PendingPurge, Pool, Store } from '../store/types.js';
import type { EventLog } from '../events.js';
import type { Logger } from '../logger.js';
import type { AgentLink, NodeRegistry } from '../nodes/registry.js';
import { compareK3sVersions, type ArtifactStore } from '../artifacts/artifact-store.js';
import type { ControlPlane } from './control-plane.js';
import { logFailure } from '../../certs/log-failure.js';
import { AtollError } from '../../certs/atoll-error.js';
import type { SealKey } from '../../certs/sealed.js';
import { openNodeToken, sealNodeToken } from './node-token-seal.js';
import { NODE_ID_LABEL } from '../nodes/kube-node-id.js';

/** Event noted when a node's k3s version is assigned by a hub that does not hold its link. */
export const K3S_ASSIGNED = 'k3s.version-assigned';
export interface NodeK3sDeps {
  controlPlane: ControlPlane;
  store: Store;
  registry: NodeRegistry;
  artifacts: ArtifactStore;
  events: EventLog;
  logger: Logger;
  removeDrainTimeoutMs: number;
  /** The cluster secret: bootstrap tokens are stored sealed with it (node-token-seal.ts). */
  sealKey: SealKey;
}

/** What an assignment is made of; undefined version or token: the node has none yet. */
interface AssignFacts {
  node: NodeRecord;
  version: string | undefined;
  creds: K3sTokenCreds | undefined;
  pool: Pool | undefined;
}

/** Node labels: the pool's, then the node's own, then atoll's (which always win). */
export function nodeLabels(node: NodeRecord, poolLabels: Record<string, string>): Record<string, string> {
  const labels: Record<string, string> = {
    ...poolLabels,
    ...node.labels,
    'atoll.dev/pool': node.pool,
    [NODE_ID_LABEL]: node.id,
  };
  const region = node.labels['topology.kubernetes.io/region'] ?? node.labels.region;
  if (region) labels['topology.kubernetes.io/region'] = region;
  delete labels.region;
  return labels;
}

function publicAddress(remote: string): string {
  const ip = remote.replace(/^::ffff:/, '');
  return ip === '127.0.0.1' || ip === '::1' ? '' : ip;
}

export class NodeK3s {
  constructor(private readonly d: NodeK3sDeps) {}

  /** Sends the node its assignment if it runs k3s and the control plane serves. */
  async assign(link: AgentLink): Promise<void> {
    if (link.k3sMode === 'off' || !this.serving()) return;
    const node = await this.d.store.getNode(link.nodeId);
    if (!node) return;
    await this.send(link, {
      node,
      version: await this.desiredVersion(node.id),
      creds: await this.d.store.getK3sToken(node.id),
      pool: await this.d.store.getPool(node.pool),
    });
  }

  private serving(): boolean {
    const cp = this.d.controlPlane;
    return Boolean(cp.running() && cp.nodeTokens() && cp.version());
  }

  /** Sends the assignment from what is known of the node; pins a version and makes a token when it has none. */
  private async send(link: AgentLink, known: AssignFacts): Promise<void> {
    const cp = this.d.controlPlane;
    const tokens = cp.nodeTokens();
    const cpVersion = cp.version();
    if (!cp.running() || !tokens || !cpVersion) return; // sent once the control plane is running
    const { node, pool } = known;
    const version = known.version ?? (await this.pinVersion(node, cpVersion));
    const artifact = this.d.artifacts.getK3s(version, node.facts.arch);
    if (!artifact) {
      await this.d.events.note({
        type: 'k3s.artifact-missing',
        nodeId: node.id,
        pool: node.pool,
        actor: 'hub',
        message: `no k3s ${version} artifact for ${node.facts.arch}; import one with atoll-hub artifact import k3s --version ${version} --arch ${node.facts.arch} --file F`,
      });
      return;
    }
    let creds = known.creds;
    if (!creds) {
      const made = await tokens.create(node.id);
      // A racing assign may have stored one meanwhile: the stored one wins, ours is deleted again.
      creds = await this.d.store.claimK3sToken(node.id, {
        id: made.id,
        token: sealNodeToken(this.d.sealKey, node.id, made.token),
      });
      if (creds.id !== made.id) await tokens.remove(made.id);
      else
        await this.d.events.note({
          type: 'k3s.token-created',
          nodeId: node.id,
          pool: node.pool,
          actor: 'hub',
          message: `k3s bootstrap token ${creds.id} created for ${node.name}`,
        });
    }
    const assignment: K3sAssignment = {
      serverUrl: cp.serverUrl(),
      token: openNodeToken(this.d.sealKey, node.id, creds.token),
      version,
      nodeName: node.name,
      labels: nodeLabels(node, pool?.labels ?? {}),
      taints: pool?.taints ?? [],
      artifactPath: artifact.urlPath,
      artifactSha256: artifact.sha256,
      nodeExternalIp: publicAddress(link.remoteAddress),
    };
    link.assignK3s(assignment);
  }

  /**
   * A node's first assignment pins its version: what it already runs (when the hub still serves that
   * and it is not ahead of the apiserver), else the control plane's. Only an upgrade moves it after
   * that: a control-plane upgrade must not swap every kubelet behind the rollout's back.
   */
  private async pinVersion(node: NodeRecord, cpVersion: string): Promise<string> {
    const running = node.health?.k3s.version;
    const keep =
      running && this.d.artifacts.getK3s(running, node.facts.arch) && compareK3sVersions(running, cpVersion) <= 0;
    // Only if unset: an upgrade that set a version meanwhile wins.
    return this.d.store.setDesiredK3sVersion(node.id, keep ? running : cpVersion, true);
  }

  /** The version a node is meant to run, when an upgrade set one. */
  desiredVersion(nodeId: string): Promise<string | undefined> {
    return this.d.store.getDesiredK3sVersion(nodeId);
  }

  /** Sets the node's version (upgrade or rollback) and sends it the new assignment when connected. */
  async setDesiredVersion(nodeId: string, version: string): Promise<boolean> {
    await this.d.store.setDesiredK3sVersion(nodeId, version);
    const link = this.d.registry.link(nodeId);
    if (!link) {
      // Several hubs: the hub holding its link sends the assignment (cluster/removal-watch.ts).
      await this.d.events.note({ type: K3S_ASSIGNED, nodeId, actor: 'hub', message: `k3s ${version} assigned` });
      return false;
    }
    await this.assign(link);
    return true;
  }

  /**
   * The control plane came up: every connected k3s agent gets its assignment. The nodes, their k3s
   * rows and the pools are read in one query each (not four per node); only a node without a pinned
   * version or a token yet writes one.
   */
  async assignAll(): Promise<void> {
    const links = this.d.registry.links().filter((l) => l.k3sMode !== 'off');
    if (!links.length || !this.serving()) return;
    const [nodes, rows, pools] = await Promise.all([
      this.d.store.listNodes(),
      this.d.store.listNodeK3s(),
      this.d.store.listPools(),
    ]);
    const byId = new Map(nodes.map((n) => [n.id, n]));
    const k3sOf = new Map(rows.map((r) => [r.nodeId, r]));
    const poolOf = new Map(pools.map((p) => [p.name, p]));
    for (const link of links) {
      const node = byId.get(link.nodeId);
      if (!node) continue;
      const row = k3sOf.get(node.id);
      await this.send(link, {
        node,
        version: row?.desiredVersion ?? undefined,
        creds: row?.token ?? undefined,
        pool: poolOf.get(node.pool),
      }).catch((err: unknown) =>
        this.d.logger.warn({ nodeId: link.nodeId, err: (err as Error).message }, 'k3s assignment failed'),
      );
    }
  }

  /** Step 1 of a removal, while the agent is still there: drain the node (bounded; a failure is reported, not fatal). */
  async drainForRemoval(node: NodeRecord, actor: string): Promise<void> {
    const kube = this.d.controlPlane.client();
    if (!kube || !(await kube.getNode(node.name))) return;
    try {
      const r = await kube.drain(node.name, {
        timeoutMs: this.d.removeDrainTimeoutMs,
        ignoreDaemonSets: true,
        deleteEmptyDirData: true,
        force: true,
      });
      await this.d.events.note({
        type: 'node.drained',
        nodeId: node.id,
        pool: node.pool,
        actor,
        message: `drained ${node.name}: ${r.evicted.length} pods evicted`,
        data: { ...r },
      });
    } catch (err) {
      await this.d.events.note({
        type: 'node.drain-failed',
        nodeId: node.id,
        pool: node.pool,
        actor,
        message: `drain of ${node.name} did not finish (${(err as Error).message}); removing it anyway`,
      });
    }
  }

  /**
   * Step 2, once the agent has stopped its kubelet (or is gone): delete the Kubernetes node, its
   * node-password secret (so a re-provisioned host may reuse the name) and its bootstrap token.
   * Without a serving control plane, or while an offline agent may still run its kubelet, the purge
   * is kept (durably) and done later: when the API is back, or once the agent has been told.
   */
  async purge(node: Pick<NodeRecord, 'id' | 'name' | 'pool'>, agentStopped: boolean): Promise<void> {
    let done = false;
    if (this.d.controlPlane.client()) {
      try {
        await this.purgeNow(node);
        done = true;
      } catch (err) {
        this.d.logger.warn(
          { nodeId: node.id, err: (err as Error).message },
          'purge of a removed node failed; will retry',
        );
      }
    }
    if (!done || !agentStopped) await this.remember({ id: node.id, name: node.name, pool: node.pool, agentStopped });
  }

  /** A removed node's agent was refused with its revoked certificate: it stops its kubelet now. */
  async agentTold(nodeId: string, graceMs: number): Promise<void> {
    if (!(await this.d.store.markPurgeAgentStopped(nodeId))) return;
    setTimeout(() => this.purgePending().catch(logFailure(this.d.logger, 'purging removed nodes')), graceMs).unref();
  }

  /** Runs every kept purge whose agent is known to have stopped (call when the API is back). */
  async purgePending(): Promise<void> {
    if (!this.d.controlPlane.client()) return;
    // Each purge is its own row: one kept meanwhile (remember) or told meanwhile (agentTold) is
    // neither lost nor overwritten; a row goes only once its agent is known to have stopped.
    for (const p of await this.d.store.listPendingPurges()) {
      try {
        await this.purgeNow(p);
        if (await this.d.store.finishPendingPurge(p.id)) {
          await this.d.events.note({
            type: 'node.purged',
            nodeId: p.id,
            pool: p.pool,
            actor: 'hub',
            message: `removed node ${p.name}: Kubernetes node, password secret and bootstrap token deleted`,
          });
        }
      } catch (err) {
        this.d.logger.warn({ nodeId: p.id, err: (err as Error).message }, 'purge of a removed node failed; will retry');
      }
    }
  }

  private async remember(p: PendingPurge): Promise<void> {
    await this.d.store.addPendingPurge(p);
  }

  private async purgeNow(node: Pick<NodeRecord, 'id' | 'name'>): Promise<void> {
    const kube = this.d.controlPlane.client();
    if (!kube) throw new AtollError('CP_NOT_SERVING', 'the control plane is not serving');
    const creds = await this.d.store.getK3sToken(node.id);
    await kube.deleteNode(node.name);
    await kube.deleteNodePasswordSecret(node.name);
    const tokens = this.d.controlPlane.nodeTokens();
    if (creds && tokens) await tokens.remove(creds.id);
    await this.d.store.deleteNodeK3s(node.id);
  }
}
