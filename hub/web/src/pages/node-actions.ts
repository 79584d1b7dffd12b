// The actions that apply to a node, as buttons (the nodes table and the node page share them):
// cordon or uncordon (whichever applies, and only for a Kubernetes node), restart k3s and reboot (only
// while the agent is connected: both need it), remove. A token that may not act sees none.
import { api, can } from '../api.js';
import { el, s, toast, type Obj } from '../dom.js';

export interface NodeActionInfo {
  action: string;
  label: string;
  title: string;
  danger?: boolean;
}

/** The actions that make sense for the node now, in the order they are shown. */
export function applicableActions(n: Obj): NodeActionInfo[] {
  const k3s = (n.k3s ?? {}) as Obj;
  const out: NodeActionInfo[] = [];
  const inKube = k3s.ready === true || k3s.ready === false;
  if (can('nodes:act')) {
    if (inKube && k3s.unschedulable === true)
      out.push({ action: 'uncordon', label: 'uncordon', title: 'let Kubernetes schedule pods on this node again' });
    else if (inKube)
      out.push({ action: 'cordon', label: 'cordon', title: 'stop Kubernetes from scheduling new pods on this node' });
    if (n.connected === true && k3s.state !== 'disabled')
      out.push({ action: 'restart-k3s', label: 'restart k3s', title: 'restart the k3s agent on the node' });
    if (n.connected === true) out.push({ action: 'reboot', label: 'reboot', title: 'reboot the server' });
  }
  if (can('nodes:remove'))
    out.push({
      action: 'remove',
      label: 'remove',
      title: 'drain the node, remove it from the cluster and revoke its certificate',
      danger: true,
    });
  return out;
}

/** Runs one action (remove asks first), says how it went in a toast, then calls `after`. */
export async function runNodeAction(n: Obj, action: string, after: () => void): Promise<void> {
  const id = encodeURIComponent(s(n.id));
  const name = s(n.name);
  try {
    if (action === 'remove') {
      if (!confirm(`Remove ${name}? It is drained, removed from the cluster and its certificate is revoked.`)) return;
      await api('DELETE', `/v1/nodes/${id}`);
    } else {
      if (action === 'reboot' && !confirm(`Reboot ${name}?`)) return;
      await api('POST', `/v1/nodes/${id}/actions/${action}`);
    }
    toast(`${action} on ${name}: done`);
  } catch (err) {
    toast(`${action} on ${name} failed: ${(err as Error).message}`);
  }
  after();
}

function button(n: Obj, a: NodeActionInfo, after: () => void): HTMLButtonElement {
  const b = el(
    'button',
    { 'data-action': a.action, title: a.title, ...(a.danger ? { class: 'danger' } : {}) },
    a.label,
  ) as HTMLButtonElement;
  b.addEventListener('click', () => {
    b.disabled = true;
    void runNodeAction(n, a.action, after).finally(() => {
      b.disabled = false;
    });
  });
  return b;
}

/** The buttons for `n`; each click runs its action, then `after` (redraw). */
export function actionButtons(n: Obj, after: () => void): HTMLElement[] {
  return applicableActions(n).map((a) => button(n, a, after));
}

/**
 * For a table row: cordon or uncordon as a button, the rest (restart k3s, reboot, remove) in a "⋯"
 * menu. `menus` remembers which node's menu is open, so a redraw of the table keeps it open.
 */
export function compactActions(n: Obj, after: () => void, menus: { open?: string }): HTMLElement[] {
  const all = applicableActions(n);
  const main = all.filter((a) => a.action === 'cordon' || a.action === 'uncordon');
  const rest = all.filter((a) => !main.includes(a));
  const out: HTMLElement[] = main.map((a) => button(n, a, after));
  if (rest.length) {
    const id = s(n.id);
    const more = el(
      'details',
      { class: 'more', 'data-more': s(n.name) },
      el('summary', { title: 'more actions' }, '⋯'),
      el(
        'div',
        { class: 'menu' },
        ...rest.map((a) =>
          button(n, a, () => {
            menus.open = undefined;
            after();
          }),
        ),
      ),
    );
    if (menus.open === id) more.setAttribute('open', '');
    more.addEventListener('toggle', () => {
      if ((more as HTMLDetailsElement).open) menus.open = id;
      else if (menus.open === id) menus.open = undefined;
    });
    out.push(more);
  }
  return out;
}
