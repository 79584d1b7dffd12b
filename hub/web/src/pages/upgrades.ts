// The upgrades page (#/upgrades): rollouts, a form to start one (version, pool, now or the next
// window), and the watched rollout node by node with a progress bar per node and overall, updated
// live from upgrade.* events and by polling every 2 s while it is active.
import { api, mayCall } from '../api.js';
import { bar, debounce, el, field, s, stateTag, table, toast, when } from '../dom.js';
import { listeners, type Ev } from '../stream.js';
import { rolloutActions } from './rollout-actions.js';

interface NodeProgress {
  id: string;
  name: string;
  pool: string;
  from: string;
  phase: string;
  startedAt: string | null;
  finishedAt: string | null;
  message: string;
}
interface ControlPlaneProgress {
  from: string;
  phase: string;
  startedAt: string | null;
  finishedAt: string | null;
  message: string;
}
interface Rollout {
  id: string;
  kind?: string;
  version: string;
  pools: string[] | null;
  state: string;
  message: string;
  window: string;
  maxUnavailable: number;
  actor?: string;
  createdAt: string;
  finishedAt: string | null;
  dismissedAt?: string | null;
  dismissedBy?: string;
  controlPlane?: ControlPlaneProgress | null;
  nodes: NodeProgress[];
}

const STEPS = ['pending', 'preflight', 'cordon', 'drain', 'swap', 'verify', 'uncordon'];
/** An agent rollout: the agent swaps its own bundle and must come back on it. */
const AGENT_STEPS = ['pending', 'preflight', 'swap', 'verify'];
/** The hub's own k3s server goes first (when it is older than the target): pending, swap, verify. */
const CP_STEPS = ['pending', 'swap', 'verify'];
const ACTIVE = new Set(['waiting-window', 'running', 'paused']);
const FAILED = new Set(['upgrade-failed', 'upgrade-blocked', 'rollback']);
const POLL_MS = 2_000;

/** How far a node is, 0-100: its step of the ladder; a finished node (done, skipped, failed) is at 100. */
export function phaseProgress(phase: string, steps: string[] = STEPS): number {
  const i = steps.indexOf(phase);
  return i >= 0 ? Math.round((i / steps.length) * 100) : 100;
}

const stepsOf = (r: Rollout): string[] => (r.kind === 'agent' ? AGENT_STEPS : STEPS);

/** The mean progress of the control plane (when it is part of the rollout) and every node. */
function overall(r: Rollout): number {
  const parts = [
    ...(r.controlPlane ? [phaseProgress(r.controlPlane.phase, CP_STEPS)] : []),
    ...r.nodes.map((n) => phaseProgress(n.phase, stepsOf(r))),
  ];
  return parts.length ? parts.reduce((a, b) => a + b, 0) / parts.length : r.state === 'done' ? 100 : 0;
}

function elapsed(n: { startedAt: string | null; finishedAt: string | null }): string {
  if (!n.startedAt) return '';
  const ms = (n.finishedAt ? Date.parse(n.finishedAt) : Date.now()) - Date.parse(n.startedAt);
  return ms < 60_000 ? `${Math.round(ms / 1000)}s` : `${Math.floor(ms / 60_000)}m ${Math.round((ms % 60_000) / 1000)}s`;
}

function rolloutCard(r: Rollout, after: () => void): HTMLElement {
  const cp = r.controlPlane;
  const cpRow = cp
    ? el(
        'tr',
        { 'data-control-plane': '', 'data-phase': cp.phase },
        el('td', {}, el('em', {}, 'control plane')),
        el('td', {}, 'hub'),
        el('td', {}, cp.from),
        el('td', {}, el('span', { class: `phase phase-${FAILED.has(cp.phase) ? 'bad' : cp.phase}` }, cp.phase)),
        el('td', { class: 'node-progress' }, bar(phaseProgress(cp.phase, CP_STEPS), FAILED.has(cp.phase) ? 'bad' : '')),
        el('td', {}, elapsed(cp)),
        el('td', {}, cp.message),
      )
    : null;
  const rows = r.nodes.map((n) =>
    el(
      'tr',
      { 'data-node': n.name, 'data-phase': n.phase },
      el('td', {}, n.name),
      el('td', {}, n.pool),
      el('td', {}, n.from),
      el('td', {}, el('span', { class: `phase phase-${FAILED.has(n.phase) ? 'bad' : n.phase}` }, n.phase)),
      el('td', { class: 'node-progress' }, bar(phaseProgress(n.phase, stepsOf(r)), FAILED.has(n.phase) ? 'bad' : '')),
      el('td', {}, elapsed(n)),
      el('td', {}, n.message),
    ),
  );
  return el(
    'section',
    { class: 'card', id: 'rollout', 'data-rollout': r.id, 'data-state': r.state },
    el('h2', {}, `Rollout ${r.id}: ${r.kind === 'agent' ? 'agent' : 'k3s'} ${r.version}`),
    el('p', {}, stateTag(r.state), ` ${r.message}`),
    el(
      'p',
      { class: 'muted' },
      `pools ${r.pools?.join(', ') ?? 'all'} · ${r.maxUnavailable} at a time · window ${r.window} · started by ${s(r.actor) || 'unknown'} `,
      when(r.createdAt, { relFirst: true }),
      r.finishedAt ? el('span', {}, ' · ended ', when(r.finishedAt, { relFirst: true })) : null,
    ),
    el(
      'p',
      { id: 'rollout-overall' },
      'Overall ',
      bar(overall(r), r.state === 'halted' ? 'bad' : ''),
      ` · ${r.nodes.filter((n) => !stepsOf(r).includes(n.phase)).length}/${r.nodes.length} nodes finished`,
    ),
    rolloutActions(r, after),
    cpRow || rows.length
      ? table(['Node', 'Pool', 'From', 'Phase', 'Progress', 'Elapsed', 'Message'], cpRow ? [cpRow, ...rows] : rows)
      : el('p', { class: 'muted' }, 'No nodes in this rollout.'),
  );
}

async function startForm(onStarted: (r: Rollout) => void): Promise<HTMLElement> {
  const [cluster, pools] = await Promise.all([
    api<{ upgrades?: { current: string | null; available: Array<{ version: string; kind: string }> } | null }>(
      'GET',
      '/v1/cluster',
    ),
    api<{ items: Array<{ name: string }> }>('GET', '/v1/pools'),
  ]);
  const available = cluster.upgrades?.available ?? [];
  const version = el('input', {
    id: 'upgrade-version',
    list: 'upgrade-versions',
    placeholder: 'v1.31.5+k3s1',
    value: available[0]?.version ?? '',
    size: '18',
  }) as HTMLInputElement;
  const versions = el(
    'datalist',
    { id: 'upgrade-versions' },
    ...available.map((a) => el('option', { value: a.version }, `${a.version} (${a.kind})`)),
  );
  const pool = el(
    'select',
    { id: 'upgrade-pool' },
    el('option', { value: '' }, 'all pools'),
    ...pools.items.map((p) => el('option', { value: p.name }, p.name)),
  ) as HTMLSelectElement;
  const when = el(
    'select',
    { id: 'upgrade-window' },
    el('option', { value: 'now' }, 'now'),
    el('option', { value: 'next' }, 'in the next maintenance window'),
  ) as HTMLSelectElement;
  const maxUnavailable = el('input', {
    id: 'upgrade-max-unavailable',
    type: 'number',
    min: '1',
    value: '1',
    size: '3',
  }) as HTMLInputElement;
  const dwell = el('input', {
    id: 'upgrade-dwell',
    placeholder: '2m',
    size: '5',
    title: 'how long each node (and the control plane) must stay healthy on the new version',
  }) as HTMLInputElement;
  const error = el('p', { class: 'error', id: 'upgrade-error' });
  const start = async (): Promise<void> => {
    error.textContent = '';
    try {
      const r = await api<Rollout>('POST', '/v1/upgrades', {
        version: version.value.trim(),
        window: when.value,
        maxUnavailable: Number(maxUnavailable.value) || 1,
        ...(pool.value ? { pools: [pool.value] } : {}),
        ...(dwell.value.trim() ? { dwell: dwell.value.trim() } : {}),
      });
      toast(`rollout ${r.id} started`);
      onStarted(r);
    } catch (err) {
      error.textContent = (err as Error).message;
    }
  };
  return el(
    'section',
    { class: 'card' },
    el('h2', {}, 'Start an upgrade'),
    el(
      'p',
      { class: 'muted' },
      `Control plane k3s ${s(cluster.upgrades?.current) || 'unknown'}; ${available.length ? `available: ${available.map((a) => a.version).join(', ')}` : 'no newer k3s artifact imported (atoll-hub artifact import k3s …)'}`,
    ),
    el(
      'div',
      { class: 'row' },
      field('Version', version),
      versions,
      field('Pool', pool),
      field('Start', when),
      field('Max unavailable', maxUnavailable),
      field('Healthy for', dwell),
      el('button', { class: 'primary', id: 'start-upgrade', click: () => void start() }, 'Start'),
    ),
    error,
  );
}

export async function upgradesPage(main: HTMLElement, args: string[]): Promise<() => void> {
  const list = el('div', { id: 'rollouts' });
  const watch = el('div', { id: 'rollout-watch' });
  let watched: string | undefined = args[0] ? decodeURIComponent(args[0]) : undefined;
  let rollouts: Rollout[] = [];

  const drawList = (): void => {
    list.replaceChildren(
      rollouts.length
        ? table(
            ['ID', 'What', 'Version', 'Pools', 'State', 'Progress', 'Created'],
            rollouts.map((r) =>
              el(
                'tr',
                {
                  'data-rollout': r.id,
                  class: `clickable${r.id === watched ? ' selected' : ''}`,
                  click: () => {
                    watched = r.id;
                    history.replaceState(null, '', `#/upgrades/${encodeURIComponent(r.id)}`);
                    void refresh();
                  },
                },
                el('td', {}, el('a', { href: '#/upgrades', click: (ev) => ev.preventDefault() }, r.id)),
                el('td', {}, r.kind === 'agent' ? 'agent' : 'k3s'),
                el('td', {}, r.version),
                el('td', {}, r.pools?.join(', ') ?? 'all'),
                el('td', {}, stateTag(r.state), r.dismissedAt ? el('span', { class: 'muted' }, ' dismissed') : null),
                el('td', {}, bar(overall(r), r.state === 'halted' ? 'bad' : '')),
                el('td', {}, when(r.createdAt)),
              ),
            ),
          )
        : el('p', { class: 'muted' }, 'No rollouts yet.'),
    );
  };
  const refresh = async (): Promise<void> => {
    rollouts = (await api<{ items: Rollout[] }>('GET', '/v1/upgrades')).items;
    watched ??= (rollouts.find((r) => ACTIVE.has(r.state)) ?? rollouts[0])?.id;
    drawList();
    const r = rollouts.find((x) => x.id === watched);
    watch.replaceChildren(r ? rolloutCard(r, () => void refresh()) : el('span', {}));
  };

  if (mayCall('POST', '/v1/upgrades'))
    main.append(
      await startForm((r) => {
        watched = r.id;
        void refresh();
      }),
    );
  main.append(watch, el('section', { class: 'card' }, el('h2', {}, 'Rollouts'), list));
  await refresh();

  const soon = debounce(() => void refresh().catch(() => undefined), 150);
  const onEvent = (e: Ev): void => {
    if (e.type.startsWith('upgrade.')) soon();
  };
  listeners.add(onEvent);
  const poll = setInterval(() => {
    if (rollouts.some((r) => ACTIVE.has(r.state))) void refresh().catch(() => undefined);
  }, POLL_MS);
  return () => {
    listeners.delete(onEvent);
    clearInterval(poll);
    soon.cancel();
  };
}
