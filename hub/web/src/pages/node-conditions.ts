// A node's conditions and taints, as the node page shows them: what the agent reports (connected,
// k3s, kubelet, clock) and what Kubernetes says (Ready, schedulable, pressure conditions, taints).
// When the hub lists Kubernetes conditions itself (optional `k3s.conditions`), those are shown as is.
import { el, s, when, type Obj } from '../dom.js';

type Status = 'ok' | 'bad' | 'unknown';
interface Condition {
  name: string;
  status: Status;
  value: string;
  detail: string;
}

const PRESSURES: Array<[string, string]> = [
  ['MemoryPressure', 'memory-pressure'],
  ['DiskPressure', 'disk-pressure'],
  ['PIDPressure', 'pid-pressure'],
  ['NetworkUnavailable', 'network-unavailable'],
];

function kubeConditions(n: Obj, k3s: Obj, reasons: string[]): Condition[] {
  const listed = k3s.conditions;
  if (Array.isArray(listed)) {
    return (listed as Obj[]).map((c) => {
      const good = s(c.type) === 'Ready' ? c.status === 'True' : c.status === 'False';
      return {
        name: s(c.type),
        status: c.status === 'Unknown' ? 'unknown' : good ? 'ok' : 'bad',
        value: s(c.status),
        detail: [s(c.reason), s(c.message)].filter(Boolean).join(': '),
      };
    });
  }
  const inKube = k3s.ready === true || k3s.ready === false;
  const out: Condition[] = [
    {
      name: 'Ready',
      status: k3s.ready === true ? 'ok' : k3s.ready === false ? 'bad' : 'unknown',
      value: k3s.ready === true ? 'True' : k3s.ready === false ? 'False' : 'Unknown',
      detail: inKube
        ? k3s.ready
          ? 'the kubelet posts Ready'
          : 'the kubelet is not Ready'
        : 'not a Kubernetes node (yet), or the control plane is not running',
    },
  ];
  if (!inKube) return out;
  for (const [name, reason] of PRESSURES) {
    const on = reasons.includes(reason);
    out.push({
      name,
      status: on ? 'bad' : 'ok',
      value: on ? 'True' : 'False',
      detail: on ? `reported${n.state === 'unreachable' ? ' (last known)' : ''}` : '',
    });
  }
  return out;
}

export function nodeConditions(n: Obj): Condition[] {
  const k3s = (n.k3s ?? {}) as Obj;
  const h = (n.health ?? null) as Obj | null;
  const reasons = (n.reasons as string[] | undefined) ?? [];
  const k3sState = s(k3s.state);
  const out: Condition[] = [
    {
      name: 'Agent connected',
      status: n.connected ? 'ok' : 'bad',
      value: n.connected ? 'True' : 'False',
      detail: n.connected
        ? `from ${s(n.remoteAddress)}`
        : `last seen ${n.lastSeen ? new Date(s(n.lastSeen)).toLocaleString() : 'never'}`,
    },
  ];
  if (k3sState !== 'disabled') {
    out.push({
      name: 'k3s service',
      status: k3sState === 'running' ? 'ok' : k3sState === 'unknown' || !k3sState ? 'unknown' : 'bad',
      value: k3sState || 'unknown',
      detail: `${s(k3s.restarts) || 0} restart(s)`,
    });
    out.push({
      name: 'Kubelet healthy',
      status: h ? (h.kubeletHealthy ? 'ok' : 'bad') : 'unknown',
      value: h ? (h.kubeletHealthy ? 'True' : 'False') : 'Unknown',
      detail: "the agent's /healthz probe",
    });
    out.push(...kubeConditions(n, k3s, reasons));
    if (k3s.ready === true || k3s.ready === false)
      out.push({
        name: 'Schedulable',
        status: k3s.unschedulable ? 'bad' : 'ok',
        value: k3s.unschedulable ? 'False' : 'True',
        detail: k3s.unschedulable ? 'cordoned' : '',
      });
  }
  if (h) {
    const skew = Number(h.clockSkewMs ?? 0);
    out.push({
      name: 'Clock in sync',
      status: reasons.includes('clock-skew') ? 'bad' : 'ok',
      value: reasons.includes('clock-skew') ? 'False' : 'True',
      detail: `${skew >= 0 ? '+' : ''}${skew} ms against the hub`,
    });
  }
  return out;
}

export function conditionsCard(n: Obj): HTMLElement {
  const k3s = (n.k3s ?? {}) as Obj;
  const taints = (k3s.taints as string[] | undefined) ?? [];
  const h = (n.health ?? null) as Obj | null;
  const rows = nodeConditions(n).map((c) =>
    el(
      'tr',
      { 'data-condition': c.name, 'data-status': c.status },
      el('td', {}, c.name),
      el('td', {}, el('span', { class: `cond cond-${c.status}` }, c.value)),
      el('td', { class: 'muted' }, c.detail),
    ),
  );
  return el(
    'section',
    { class: 'card', id: 'node-conditions' },
    el(
      'div',
      { class: 'cols2' },
      el(
        'div',
        {},
        el('h2', {}, 'Conditions'),
        el(
          'table',
          { class: 'conditions' },
          el('thead', {}, el('tr', {}, el('th', {}, 'Condition'), el('th', {}, 'Status'), el('th', {}, 'Detail'))),
          el('tbody', {}, ...rows),
        ),
        h ? el('p', { class: 'muted' }, 'As of the last report, ', when(h.receivedAt, { relFirst: true }), '.') : null,
      ),
      el(
        'div',
        { id: 'node-taints' },
        el('h2', {}, 'Taints'),
        taints.length
          ? el('div', {}, ...taints.map((t) => el('code', { class: 'label taint' }, t)))
          : el(
              'p',
              { class: 'muted' },
              k3s.ready === null ? 'Not a Kubernetes node (yet): no taints to show.' : 'No taints.',
            ),
      ),
    ),
  );
}
