// The overview's active problems: the hub's alerts (GET /v1/alerts: control plane, nodes,
// certificates, versions, autoheal, rollouts), worst first, each with its link and since when.
import { api } from '../api.js';
import { ago } from '../dom.js';

export interface Problem {
  kind: string;
  severity: 'bad' | 'warn' | 'info';
  text: string;
  href: string;
  detail?: string;
}

export interface Rollout {
  id: string;
  kind?: string;
  version: string;
  state: string;
  message: string;
  dismissedAt?: string | null;
}

interface Alert {
  id: string;
  severity: 'critical' | 'warning' | 'info';
  since: string;
  message: string;
  link: string;
}

/** The dashboard's name for an alert kind (the id before ':'); stable for styles and tests. */
const KIND: Record<string, string> = {
  'node-unreachable': 'unreachable',
  'node-needs-attention': 'needs-attention',
  'cert-expiring': 'certificate',
  'rollout-halted': 'rollout',
  'autoheal-frozen': 'autoheal',
  'version-support': 'support',
  'control-plane': 'control-plane',
};

const SEVERITY = { critical: 'bad', warning: 'warn', info: 'info' } as const;

export async function activeProblems(): Promise<Problem[]> {
  const { items } = await api<{ items: Alert[] }>('GET', '/v1/alerts');
  return items.map((a) => {
    const kind = a.id.split(':')[0];
    return {
      kind: KIND[kind] ?? kind,
      severity: SEVERITY[a.severity] ?? 'info',
      text: a.message,
      href: a.link,
      detail: `since ${ago(a.since)}`,
    };
  });
}
