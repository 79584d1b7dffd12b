// The overview's active problems: what needs an operator now, worst first, each with a link to where
// it can be looked at or fixed. Built from what the API already says; optional fields (a support
// status, link flaps) are used when the hub provides them.
import { api } from '../api.js';
import { ago, s, type Obj } from '../dom.js';

export interface Problem {
  kind: string;
  severity: 'bad' | 'warn';
  text: string;
  href: string;
  detail?: string;
}

/** How many of one kind are listed before "and N more". */
const SHOWN = 8;

export interface Rollout {
  id: string;
  kind?: string;
  version: string;
  state: string;
  message: string;
  dismissedAt?: string | null;
}
interface ExpiringCert {
  nodeId: string;
  node: string;
  pool: string;
  notAfter: string;
  connected?: boolean;
}

function capped(list: Problem[], more: (n: number) => Problem): Problem[] {
  return list.length > SHOWN ? [...list.slice(0, SHOWN), more(list.length - SHOWN)] : list;
}

export async function activeProblems(cluster: Obj, rollouts: Rollout[]): Promise<Problem[]> {
  const get = <T>(path: string, empty: T): Promise<T> => api<T>('GET', path).catch(() => empty);
  const [unreachable, attention, certs] = await Promise.all([
    get<{ items: Obj[] }>('/v1/nodes?state=unreachable', { items: [] }),
    get<{ items: Obj[] }>('/v1/nodes?state=needs-attention', { items: [] }),
    get<{ items: ExpiringCert[] }>('/v1/certificates', { items: [] }),
  ]);
  const out: Problem[] = [];
  const cpState = s(cluster.state);
  if (cpState && cpState !== 'running') {
    out.push({
      kind: 'control-plane',
      severity: cpState === 'starting' ? 'warn' : 'bad',
      text: `Control plane ${cpState}`,
      detail: s(cluster.message),
      href: '#/events?type=k3s.state',
    });
  }
  const guard = ((cluster.autoheal ?? {}) as Obj).guard as Obj | undefined;
  if (guard?.frozen)
    out.push({
      kind: 'autoheal',
      severity: 'warn',
      text: 'Autoheal frozen by the partition guard',
      detail: s(guard.reason),
      href: '#/pools',
    });
  for (const r of rollouts.filter((x) => x.state === 'halted' && !x.dismissedAt)) {
    out.push({
      kind: 'rollout',
      severity: 'bad',
      text: `Rollout ${r.id} (${r.kind === 'agent' ? 'agent' : 'k3s'} ${r.version}) halted`,
      detail: r.message,
      href: `#/upgrades/${encodeURIComponent(r.id)}`,
    });
  }
  out.push(
    ...capped(
      unreachable.items.map((n) => ({
        kind: 'unreachable',
        severity: 'bad' as const,
        text: `${s(n.name)} unreachable`,
        detail: `last seen ${ago(n.lastSeen)} · pool ${s(n.pool)}`,
        href: `#/node/${encodeURIComponent(s(n.id))}`,
      })),
      (more) => ({
        kind: 'unreachable',
        severity: 'bad',
        text: `and ${more} more unreachable node${more === 1 ? '' : 's'}`,
        href: '#/nodes?state=unreachable',
      }),
    ),
  );
  out.push(
    ...capped(
      attention.items.map((n) => ({
        kind: 'needs-attention',
        severity: 'bad' as const,
        text: `${s(n.name)} needs attention`,
        detail: ((n.reasons as string[] | undefined) ?? []).join(', ') || 'autoheal gave up or may not act',
        href: `#/node/${encodeURIComponent(s(n.id))}`,
      })),
      (more) => ({
        kind: 'needs-attention',
        severity: 'bad',
        text: `and ${more} more node${more === 1 ? '' : 's'} needing attention`,
        href: '#/nodes?state=needs-attention',
      }),
    ),
  );
  out.push(
    ...capped(
      certs.items.map((c) => {
        const left = Date.parse(c.notAfter) - Date.now();
        return {
          kind: 'certificate',
          severity: left < 86_400_000 * 3 ? ('bad' as const) : ('warn' as const),
          text:
            left > 0
              ? `Certificate of ${c.node} expires ${ago(c.notAfter)}`
              : `Certificate of ${c.node} expired ${ago(c.notAfter)}`,
          detail: `its renewal is overdue${c.connected === false ? '; the agent is not connected' : ''}`,
          href: `#/node/${encodeURIComponent(c.nodeId)}`,
        };
      }),
      (more) => ({
        kind: 'certificate',
        severity: 'warn',
        text: `and ${more} more certificate${more === 1 ? '' : 's'} near expiry`,
        href: '#/nodes',
      }),
    ),
  );
  const eos = s(((cluster.upgrades ?? {}) as Obj).endOfSupport);
  if (eos)
    out.push({
      kind: 'support',
      severity: 'warn',
      text: 'k3s version out of support',
      detail: eos,
      href: '#/upgrades',
    });
  return out.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'bad' ? -1 : 1));
}
