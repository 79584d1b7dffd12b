// One node identity, one machine. A hello for a node that already has a live link comes either from
// the same machine (an agent restart: same boot id; or a reboot whose old link is half-open) or from
// a second machine holding a copy of the identity (a cloned VM or a copied data dir). A machine has
// one boot id at a time, so a different boot id while the old link still answers means a second
// machine: the newcomer is refused (IDENTITY_IN_USE) and the holder keeps the node, instead of the
// two replacing each other forever. When the old link does not answer a probe, it is dead (a reboot,
// a moved disk) and the newcomer takes over as before. Conflicts are events (one per newcomer per
// 10 minutes) and a metric.
import type { AgentLink, NodeRegistry } from './registry.js';
import type { HostFactsRecord } from '../store/types.js';
import type { EventLog } from '../events.js';
import type { Logger } from '../logger.js';

export interface IdentityGuardOptions {
  registry: NodeRegistry;
  events: EventLog;
  logger: Logger;
  /** How long the holder's link has to answer a probe (default 3 s). */
  probeTimeoutMs?: number;
  /** Counts every refusal (a metric). */
  onConflict?: () => void;
  now?: () => number;
}

export type Admission = { admit: true } | { admit: false; code: 'IDENTITY_IN_USE'; reason: string };

const EVENT_EVERY_MS = 10 * 60_000;

function describe(f: HostFactsRecord | undefined, remote: string): string {
  const parts = [`host ${f?.hostname || '?'}`, `boot ${f?.bootId || '?'}`];
  if (f?.machineId) parts.push(`machine-id ${f.machineId}`);
  return `${parts.join(', ')}, from ${remote}`;
}

export class IdentityGuard {
  /** The facts each live link said hello with. */
  private readonly facts = new WeakMap<AgentLink, HostFactsRecord>();
  /** Node id -> the last conflict reported as an event (newcomer key, time). */
  private readonly reported = new Map<string, { key: string; at: number }>();
  private readonly now: () => number;

  constructor(private readonly opts: IdentityGuardOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Decides on a hello of `link` with `facts`; remembers them when admitted. */
  async admit(link: AgentLink, facts: HostFactsRecord | null): Promise<Admission> {
    const holder = this.opts.registry.link(link.nodeId);
    const mine = facts ?? undefined;
    if (holder && holder !== link && this.otherBoot(this.facts.get(holder), mine) && (await this.alive(holder))) {
      return this.refuse(link, holder, mine);
    }
    if (mine) this.facts.set(link, mine);
    return { admit: true };
  }

  /** Both boot ids known and different. Without them (clients that send no facts) a newcomer replaces, as before. */
  private otherBoot(a: HostFactsRecord | undefined, b: HostFactsRecord | undefined): boolean {
    return Boolean(a?.bootId && b?.bootId && a.bootId !== b.bootId);
  }

  private async alive(holder: AgentLink): Promise<boolean> {
    // Links that cannot be probed (none today) are treated as alive: refusing is the safe side.
    return holder.probe ? holder.probe(this.opts.probeTimeoutMs ?? 3_000) : true;
  }

  private async refuse(link: AgentLink, holder: AgentLink, mine: HostFactsRecord | undefined): Promise<Admission> {
    const held = this.facts.get(holder);
    const reason = `another machine (${describe(held, holder.remoteAddress)}) holds this node identity; re-join this machine with a token: atoll-agent join --token T --force`;
    this.opts.onConflict?.();
    const key = `${mine?.bootId ?? ''}|${mine?.machineId ?? ''}|${link.remoteAddress}`;
    const last = this.reported.get(link.nodeId);
    const now = this.now();
    if (!last || last.key !== key || now - last.at >= EVENT_EVERY_MS) {
      this.reported.set(link.nodeId, { key, at: now });
      this.opts.logger.warn(
        { nodeId: link.nodeId, holder: held?.hostname, newcomer: mine?.hostname, remote: link.remoteAddress },
        'a second machine presented a node identity that is in use; refused',
      );
      const node = this.opts.registry.snapshotOf(link.nodeId);
      await this.opts.events.note({
        type: 'node.identity-conflict',
        nodeId: link.nodeId,
        pool: node?.pool ?? null,
        actor: 'hub',
        message: `node ${node?.name ?? link.nodeId}: a second machine (${describe(mine, link.remoteAddress)}) presented its identity while ${describe(held, holder.remoteAddress)} holds it; the second was refused. Re-join it with a token (atoll-agent join --token T --force), or remove the copy`,
        data: {
          holder: { ...summary(held), remoteAddress: holder.remoteAddress },
          newcomer: { ...summary(mine), remoteAddress: link.remoteAddress },
        },
      });
    }
    for (const [id, r] of this.reported) if (now - r.at >= EVENT_EVERY_MS) this.reported.delete(id);
    return { admit: false, code: 'IDENTITY_IN_USE', reason };
  }
}

function summary(f: HostFactsRecord | undefined): Record<string, string> {
  return { hostname: f?.hostname ?? '', bootId: f?.bootId ?? '', machineId: f?.machineId ?? '' };
}
