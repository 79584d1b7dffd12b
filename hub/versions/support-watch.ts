// Watches the support status of the control plane's k3s version and of each node's, and writes a
// `version.support` notice when one changes (a date passed, a node upgraded, new data imported).
// The last status per scope is in the store (recordSupportStates is a compare-and-set), so a restart
// or a second hub does not repeat a notice. Node changes of one pass are grouped per minor and
// status: a date that moves 1,000 nodes to end-of-life writes one event, not 1,000.
import type { Store, NodeRecord } from '../store/types.js';
import type { SupportStateChange } from '../store/day2-types.js';
import type { EventLog } from '../events.js';
import type { Logger } from '../logger.js';
import type { NodeRegistry } from '../nodes/registry.js';
import { logFailure } from '../../certs/log-failure.js';
import type { VersionSupportService } from './support-service.js';
import { supportMessage, type SupportStatus, type VersionSupport } from './support-status.js';

export interface SupportWatchDeps {
  support: VersionSupportService;
  store: Store;
  events: EventLog;
  registry: NodeRegistry;
  /** The control plane's k3s version now; null when it is not running (or off). */
  controlPlaneVersion: () => string | null;
  logger: Logger;
  intervalMs: number;
  now: () => number;
  /** Whether this hub writes the notices (it leads `support-watch`, hub/cluster/); default always. */
  leads?: () => boolean;
}

/** Node ids named in one grouped event at most. */
const NAMED_NODES = 50;
const NODE_SCOPE = 'node:';

/** The k3s version a node runs, as the node view shows it: its kubelet's, else its agent's report. */
export function nodeK3sVersion(n: NodeRecord, registry: Pick<NodeRegistry, 'kubeView'>): string {
  return registry.kubeView(n.id)?.kubeletVersion || n.health?.k3s.version || '';
}

export class SupportWatch {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  /** Days left of each node's version at the last pass (nodes with a known version only). */
  private nodeDays = new Map<string, number>();
  /** Nodes per minor and status at the last pass. */
  private groups: NodeSupportGroup[] = [];
  private readonly unsubscribe: () => void;

  constructor(private readonly d: SupportWatchDeps) {
    this.unsubscribe = d.support.onChange(() => this.kick());
  }

  start(): void {
    this.timer = setInterval(() => this.kick(), this.d.intervalMs);
    this.timer.unref();
    this.kick();
  }

  stop(): void {
    clearInterval(this.timer);
    this.unsubscribe();
  }

  /** The control plane's support now; null when its version is unknown (not running, off). */
  controlPlane(): VersionSupport | null {
    const v = this.d.controlPlaneVersion();
    return v ? this.d.support.status(v) : null;
  }

  /** For the metric: days left of the control plane's version, and the fewest of any node's. */
  daysLeft(): { controlPlane: number | null; node: number | null } {
    const nodes = [...this.nodeDays.values()];
    return { controlPlane: this.controlPlane()?.daysLeft ?? null, node: nodes.length ? Math.min(...nodes) : null };
  }

  private kick(): void {
    this.tick().catch(logFailure(this.d.logger, 'watching version support'));
  }

  /** Nodes per k3s minor and support status at the last pass (worst first). */
  nodeGroups(): NodeSupportGroup[] {
    return this.groups;
  }

  /** One pass; never throws, never overlaps. */
  tick(): Promise<void> {
    this.running ??= this.pass()
      .catch(logFailure(this.d.logger, 'watching version support'))
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async pass(): Promise<void> {
    // Another hub of the cluster may have imported data: read it again (one small query).
    await this.d.support.load();
    const now = this.d.now();
    const at = new Date(now).toISOString();
    const cpVersion = this.d.controlPlaneVersion();
    const cp = cpVersion ? this.d.support.status(cpVersion, now) : null;
    const nodes = await this.d.store.listNodes();
    const byScope = new Map<string, { node: NodeRecord; version: string; support: VersionSupport }>();
    const days = new Map<string, number>();
    const keep: string[] = [];
    for (const node of nodes) {
      const version = nodeK3sVersion(node, this.d.registry);
      // A node whose version is not known now (k3s down) keeps its last status: no notice on a flap.
      if (!version) {
        keep.push(NODE_SCOPE + node.id);
        continue;
      }
      const support = this.d.support.status(version, now);
      byScope.set(NODE_SCOPE + node.id, { node, version, support });
      if (support.daysLeft !== null) days.set(node.id, support.daysLeft);
    }
    this.nodeDays = days;
    this.groups = groupNodes([...byScope.values()].map((n) => n.support));
    const entries = [...byScope].map(([scope, n]) => ({ scope, status: n.support.status }));
    if (cp) entries.push({ scope: 'control-plane', status: cp.status });
    if (this.d.leads && !this.d.leads()) return; // another hub writes the notices
    const changes = (
      await this.d.store.recordSupportStates(entries, at, { prefix: NODE_SCOPE, keep: ['control-plane', ...keep] })
    ).filter(worthANotice);
    const cpChange = changes.find((c) => c.scope === 'control-plane');
    if (cpChange && cp && cpVersion) await this.noteControlPlane(cpChange, cp, cpVersion);
    await this.noteNodes(
      changes.flatMap((c) => {
        const n = byScope.get(c.scope);
        return n ? [{ ...n, previous: c.previous }] : [];
      }),
    );
  }

  private async noteControlPlane(c: SupportStateChange, s: VersionSupport, version: string): Promise<void> {
    await this.d.events.note({
      type: 'version.support',
      actor: 'hub',
      message: `control plane k3s ${version}: ${c.previous ?? 'new'} -> ${s.status}: ${supportMessage('k3s', s)}`,
      data: { scope: 'control-plane', version, from: c.previous, to: s.status, ...dates(s) },
    });
  }

  private async noteNodes(
    changed: Array<{ node: NodeRecord; version: string; support: VersionSupport; previous: string | null }>,
  ): Promise<void> {
    const groups = new Map<string, typeof changed>();
    for (const c of changed) {
      const key = `${c.support.minor}\u0000${c.previous}\u0000${c.support.status}`;
      groups.set(key, [...(groups.get(key) ?? []), c]);
    }
    for (const group of groups.values()) {
      const first = group[0];
      const s = first.support;
      const names = group.slice(0, NAMED_NODES).map((g) => g.node.name);
      const who =
        group.length === 1
          ? `node ${first.node.name} (k3s ${first.version})`
          : `${group.length} nodes on k3s ${s.minor} (${names.join(', ')}${group.length > NAMED_NODES ? ', ...' : ''})`;
      await this.d.events.note({
        type: 'version.support',
        ...(group.length === 1 ? { nodeId: first.node.id, pool: first.node.pool } : {}),
        actor: 'hub',
        message: `${who}: ${first.previous ?? 'new'} -> ${s.status}: ${supportMessage('k3s', s)}`,
        data: {
          scope: 'node',
          minor: s.minor,
          from: first.previous,
          to: s.status,
          count: group.length,
          nodes: group.slice(0, NAMED_NODES).map((g) => g.node.id),
          ...dates(s),
        },
      });
    }
  }
}

export interface NodeSupportGroup {
  minor: string | null;
  status: SupportStatus;
  count: number;
  endOfLife: string | null;
  daysLeft: number | null;
}

const SEVERITY: Record<SupportStatus, number> = { 'end-of-life': 0, deprecated: 1, unknown: 2, supported: 3 };

function groupNodes(list: VersionSupport[]): NodeSupportGroup[] {
  const groups = new Map<string, NodeSupportGroup>();
  for (const s of list) {
    const key = `${s.minor}\u0000${s.status}`;
    const g = groups.get(key);
    if (g) g.count++;
    else groups.set(key, { minor: s.minor, status: s.status, count: 1, endOfLife: s.endOfLife, daysLeft: s.daysLeft });
  }
  return [...groups.values()].sort((a, b) => SEVERITY[a.status] - SEVERITY[b.status] || b.count - a.count);
}

/** A first sight of a supported version is no news; every other change is. */
function worthANotice(c: SupportStateChange): boolean {
  return !(c.previous === null && (c.status as SupportStatus) === 'supported');
}

function dates(s: VersionSupport): Record<string, unknown> {
  return { endOfMaintenance: s.endOfMaintenance, endOfLife: s.endOfLife, daysLeft: s.daysLeft };
}
