// What can be done with a rollout from its card: cancel an active one; resume, retry or dismiss a
// halted one (POST /v1/upgrades/{id}/cancel|resume|retry|dismiss), each only when it applies and the
// token may call it.
import { api, mayCall } from '../api.js';
import { el, s, toast, when } from '../dom.js';

export interface RolloutLike {
  id: string;
  state: string;
  version: string;
  controlPlane?: { phase: string } | null;
  nodes: Array<{ name: string; phase: string }>;
  dismissedAt?: string | null;
  dismissedBy?: string;
}

const ACTIVE = new Set(['waiting-window', 'running', 'paused']);

interface Choice {
  action: string;
  label: string;
  explain: string;
  danger?: boolean;
  primary?: boolean;
  confirm?: string;
}

function choices(r: RolloutLike): Choice[] {
  if (ACTIVE.has(r.state))
    return [
      {
        action: 'cancel',
        label: 'Cancel',
        explain: 'stop before the next node (a node in progress finishes)',
        danger: true,
        confirm: `Cancel rollout ${r.id}? A node in progress finishes first.`,
      },
    ];
  if (r.state !== 'halted') return [];
  const cpFailed = r.controlPlane?.phase === 'upgrade-failed';
  const failed = r.nodes.filter((n) => n.phase === 'upgrade-failed').map((n) => n.name);
  const out: Choice[] = [];
  if (cpFailed || failed.length)
    out.push({
      action: 'retry',
      label: `Retry ${cpFailed ? 'the control plane' : failed.join(', ')}`,
      explain: 'start what failed over, then go on with the rest',
      primary: true,
    });
  if (!cpFailed)
    out.push({
      action: 'resume',
      label: 'Resume',
      explain: failed.length
        ? `go on with the other nodes; ${failed.join(', ')} stay${failed.length === 1 ? 's' : ''} on the old version`
        : 'go on from where it stopped',
    });
  if (!r.dismissedAt)
    out.push({ action: 'dismiss', label: 'Dismiss', explain: 'leave it halted and take it off the active problems' });
  return out;
}

export function rolloutActions(r: RolloutLike, after: () => void): HTMLElement | null {
  const allowed = choices(r).filter((c) => mayCall('POST', `/v1/upgrades/:id/${c.action}`));
  const dismissed = r.dismissedAt
    ? el(
        'p',
        { class: 'muted', id: 'rollout-dismissed' },
        `Dismissed by ${s(r.dismissedBy)} `,
        when(r.dismissedAt, { relFirst: true }),
        '.',
      )
    : null;
  if (!allowed.length) return dismissed;
  const run = async (c: Choice): Promise<void> => {
    if (c.confirm && !confirm(c.confirm)) return;
    try {
      await api('POST', `/v1/upgrades/${encodeURIComponent(r.id)}/${c.action}`);
      toast(`${c.action} of rollout ${r.id}: requested`);
    } catch (err) {
      toast(`${c.action} of rollout ${r.id} failed: ${(err as Error).message}`);
    }
    after();
  };
  return el(
    'div',
    { class: 'rollout-actions', id: 'rollout-actions' },
    dismissed,
    r.state === 'halted'
      ? el('p', {}, el('strong', {}, 'This rollout halted. '), 'Look at the failed step below, then:')
      : null,
    el(
      'div',
      { class: 'choices' },
      ...allowed.map((c) =>
        el(
          'div',
          { class: 'choice' },
          el(
            'button',
            {
              id: `${c.action}-rollout`,
              class: c.danger ? 'danger' : c.primary ? 'primary' : '',
              click: () => void run(c),
            },
            c.label,
          ),
          el('span', { class: 'muted' }, ` ${c.explain}`),
        ),
      ),
    ),
  );
}
