// Autoheal's durable per-node record (the store's autoheal_records table), how a node's condition is
// read from what the hub sees, and the book that caches, saves and annotates the records.
import type { Store } from '../store/types.js';
import type { EventLog } from '../events.js';
import type { NodeSnapshot } from '../nodes/registry.js';

export type Condition = 'healthy' | 'degraded' | 'unreachable' | 'link-problem';

export interface NodeHeal {
  condition: Condition;
  since: string;
  unhealthySince: string | null;
  /** 0: nothing done yet in this ladder; 1: k3s restarted; 2: rebooted; 3: replaced / handed over. */
  step: number;
  ladders: number;
  attempts: number;
  lastAction: string | null;
  lastActionAt: string | null;
  healthySince: string | null;
  /** Times the node turned healthy <-> unhealthy (for flap detection). */
  flips: string[];
  flapping: boolean;
  /** The node was cordoned by autoheal (a reboot's drain, a give-up): uncordon it once healthy. */
  cordonedByUs: boolean;
  /** A step was taken and not yet proven (healthy for provenAfter) or failed. */
  unproven: boolean;
  /** A replacement asked of the hook: the machine it made and the join token its cloud-init carries. */
  replacement: { requestedAt: string; machineId: string | null; tokenId?: string } | null;
  lastDecision: string;
  forced: boolean;
  /** The machine id the provider hook returned when it created this node (its `replace`). */
  machineId?: string | null;
  /** Source addresses the hub saw this node's agent connect from (newest first, bounded). */
  observedAddresses?: string[];
}

export const ACTOR = 'autoheal';
export const MAX_LADDERS = 3;

export function freshRecord(condition: Condition, at: string): NodeHeal {
  return {
    condition,
    since: at,
    unhealthySince: null,
    step: 0,
    ladders: 0,
    attempts: 0,
    lastAction: null,
    lastActionAt: null,
    healthySince: null,
    flips: [],
    flapping: false,
    cordonedByUs: false,
    unproven: false,
    replacement: null,
    lastDecision: '',
    forced: false,
  };
}

export function classify(n: NodeSnapshot): Condition {
  // Connected: what the reports say (reasons stay current in workflow states too).
  if (n.connected) return n.state === 'degraded' || n.reasons.some((r) => r !== 'no-report') ? 'degraded' : 'healthy';
  // Lost agent: a kube Node that is still Ready means only our link broke.
  if (n.kube?.ready === true) return 'link-problem';
  return n.state === 'unreachable' || n.state === 'remediating' || n.state === 'needs-attention'
    ? 'unreachable'
    : 'healthy';
}

/** The records, cached in memory; every change is written through to the store. */
export class RecordBook {
  private readonly cache = new Map<string, NodeHeal | undefined>();

  constructor(
    private readonly store: Store,
    private readonly events: EventLog,
  ) {}

  /** A copy of a node's record (loaded once from the store). */
  async get(id: string): Promise<NodeHeal | undefined> {
    if (!this.cache.has(id)) this.cache.set(id, await this.store.getAutohealRecord<NodeHeal>(id));
    const r = this.cache.get(id);
    return r && structuredClone(r);
  }

  /** Loads the records of the nodes not in memory yet, in one store query (a hub's first tick). */
  async load(ids: readonly string[]): Promise<void> {
    const missing = ids.filter((id) => !this.cache.has(id));
    if (!missing.length) return;
    const found = await this.store.getAutohealRecords<NodeHeal>(missing);
    for (const id of missing) if (!this.cache.has(id)) this.cache.set(id, found.get(id));
  }

  /** The last known record, from memory, not a copy: read only (for the API's node view and fast paths). */
  peek(id: string): NodeHeal | undefined {
    return this.cache.get(id);
  }

  /** Remembers a record that needs no write (a restart would make the same fresh one). */
  remember(id: string, rec: NodeHeal): void {
    if (!this.cache.get(id)) this.cache.set(id, structuredClone(rec));
  }

  async save(id: string, rec: NodeHeal | undefined): Promise<void> {
    await this.store.saveAutohealRecords([[id, rec]]);
    this.cache.set(id, rec && structuredClone(rec));
  }

  /** Several records in one transaction. */
  async saveMany(entries: Array<[string, NodeHeal]>): Promise<void> {
    await this.store.saveAutohealRecords(entries);
    for (const [id, rec] of entries) this.cache.set(id, structuredClone(rec));
  }

  /** Records a decision (also a decision not to act) as an event, once per change. */
  async decide(n: NodeSnapshot, rec: NodeHeal, decision: string, data: Record<string, unknown> = {}): Promise<void> {
    if (rec.lastDecision === decision) return;
    rec.lastDecision = decision;
    await this.events.note({
      type: 'autoheal.decision',
      nodeId: n.id,
      pool: n.pool,
      actor: ACTOR,
      message: `${n.name}: ${decision}`,
      data: { condition: rec.condition, step: rec.step, ...data },
    });
  }
}
