// The overview (#/cluster): node counts by state as tiles (each opens the nodes page filtered), the
// active problems (the hub's alerts) with links, the versions (k3s and its support status when the hub reports one,
// the hub, the agents) and the control plane. Live: redrawn on node, upgrade and k3s events and
// every 15 s.
import { api } from '../api.js';
import { debounce, el, s, stateTag, when, type Obj } from '../dom.js';
import { listeners, type Ev } from '../stream.js';
import { STATE_ORDER } from './nodes.js';
import { activeProblems, type Problem, type Rollout } from './problems.js';

const REFRESH_MS = 15_000;

function tiles(c: Obj): HTMLElement {
  const nodes = (c.nodes ?? {}) as { total?: number; connected?: number; byState?: Record<string, number> };
  const by = nodes.byState ?? {};
  const states = [...STATE_ORDER, ...Object.keys(by).filter((st) => !STATE_ORDER.includes(st))];
  const tile = (href: string, n: number, label: string, cls: string, extra?: string): HTMLElement =>
    el(
      'a',
      { class: `tile ${cls}${n ? '' : ' zero'}`, href, 'data-tile': label },
      el('span', { class: 'tile-n' }, String(n)),
      el('span', { class: 'tile-label' }, label.replace('-', ' ')),
      extra ? el('span', { class: 'tile-extra' }, extra) : null,
    );
  return el(
    'section',
    { class: 'card' },
    el('h2', {}, 'Nodes'),
    el(
      'div',
      { class: 'tiles', id: 'node-tiles' },
      tile('#/nodes', nodes.total ?? 0, 'total', 'tile-total', `${nodes.connected ?? 0} connected`),
      ...[...states.slice().reverse()].map((st) =>
        tile(`#/nodes?state=${encodeURIComponent(st)}`, by[st] ?? 0, st, `state-${st}`),
      ),
    ),
  );
}

function problemList(list: Problem[]): HTMLElement {
  return el(
    'section',
    { class: 'card', id: 'problems' },
    el('h2', {}, 'Active problems', list.length ? el('span', { class: 'count' }, String(list.length)) : null),
    list.length
      ? el(
          'ul',
          { class: 'problems' },
          ...list.map((p) =>
            el(
              'li',
              { class: `problem problem-${p.severity}`, 'data-kind': p.kind },
              el('a', { href: p.href }, p.text),
              p.detail ? el('span', { class: 'muted' }, ` — ${p.detail}`) : null,
            ),
          ),
        )
      : el(
          'p',
          { class: 'ok', id: 'no-problems' },
          '✓ No active problems: the control plane runs, every node is reachable, no rollout is halted, no certificate is near expiry and the k3s versions are supported.',
        ),
  );
}

/** The support status, only when the hub reports one (`support`, or the end-of-support notice). */
function support(c: Obj): HTMLElement | null {
  const sup = c.support as unknown;
  const status = typeof sup === 'string' ? sup : s((sup as Obj | undefined)?.status);
  if (status) {
    const note = typeof sup === 'object' && sup ? s((sup as Obj).message) : '';
    const cls =
      status === 'supported' ? 'state-ready' : status === 'deprecated' ? 'state-degraded' : 'state-unreachable';
    return el(
      'span',
      { id: 'k3s-support' },
      ' ',
      el('span', { class: `state ${cls}` }, status),
      note ? el('span', { class: 'muted' }, ` ${note}`) : null,
    );
  }
  const eos = s(((c.upgrades ?? {}) as Obj).endOfSupport);
  if (eos)
    return el(
      'span',
      { id: 'k3s-support' },
      ' ',
      el('span', { class: 'state state-unreachable' }, 'end of life'),
      el('span', { class: 'muted' }, ` ${eos}`),
    );
  return null;
}

function versions(c: Obj): HTMLElement {
  const up = (c.upgrades ?? null) as Obj | null;
  const available = ((up?.available ?? []) as Obj[]).map((a) => s(a.version));
  const agents = (up?.agents ?? null) as Obj | null;
  const running = ((agents?.running ?? []) as Obj[]).map(
    (r) => `${s(r.version)} on ${s(r.nodes)} node${r.nodes === 1 ? '' : 's'}`,
  );
  const row = (k: string, ...v: Array<Node | string | null>): HTMLElement =>
    el('tr', {}, el('th', {}, k), el('td', {}, ...v));
  return el(
    'section',
    { class: 'card', id: 'versions' },
    el('h2', {}, 'Versions'),
    el(
      'table',
      { class: 'kv' },
      el(
        'tbody',
        {},
        row(
          'k3s',
          el('strong', { id: 'k3s-version' }, s(c.version) || 'unknown'),
          support(c),
          available.length
            ? el('span', {}, ' · ', el('a', { href: '#/upgrades' }, `upgrade available: ${available.join(', ')}`))
            : null,
        ),
        row('Hub', s(c.hubVersion)),
        agents
          ? row(
              'Agents',
              running.join(', ') || 'none yet',
              agents.skew
                ? el(
                    'span',
                    { class: 'warn' },
                    ` · versions differ${agents.latest ? ` (${s(agents.behind)} behind ${s(agents.latest)})` : ''}`,
                  )
                : null,
            )
          : null,
      ),
    ),
  );
}

function controlPlane(c: Obj, latest: Rollout | undefined): HTMLElement {
  const cp = (c.controlPlane ?? {}) as Obj;
  const ah = (c.autoheal ?? {}) as {
    enabled?: boolean;
    paused?: boolean;
    guard?: { frozen?: boolean; reason?: string };
  };
  const row = (k: string, ...v: Array<Node | string | null>): HTMLElement =>
    el('tr', {}, el('th', {}, k), el('td', {}, ...v));
  return el(
    'section',
    { class: 'card', id: 'control-plane' },
    el('h2', {}, 'Control plane'),
    el(
      'table',
      { class: 'kv' },
      el(
        'tbody',
        {},
        row(
          'State',
          stateTag(c.state),
          ` ${s(c.message)}`,
          cp.since ? el('span', { class: 'muted' }, ' since ', when(cp.since, { relFirst: true })) : null,
        ),
        row('Gateway', el('code', {}, s(c.publicUrl))),
        row(
          'Autoheal',
          `${ah.enabled === false ? 'off' : 'on'}${ah.paused ? ', paused' : ''}; partition guard ${ah.guard?.frozen ? `frozen (${s(ah.guard.reason)})` : 'open'}`,
        ),
        latest
          ? row(
              'Latest rollout',
              el('a', { href: `#/upgrades/${encodeURIComponent(latest.id)}` }, latest.id),
              ` ${latest.kind === 'agent' ? 'agent' : 'k3s'} ${latest.version} `,
              stateTag(latest.state),
            )
          : null,
      ),
    ),
  );
}

export async function overviewPage(main: HTMLElement): Promise<() => void> {
  const box = el('div', { id: 'overview' });
  main.append(box);
  const render = async (): Promise<void> => {
    const [c, rollouts] = await Promise.all([
      api<Obj>('GET', '/v1/cluster'),
      api<{ items: Rollout[] }>('GET', '/v1/upgrades').then(
        (r) => r.items,
        () => [] as Rollout[],
      ),
    ]);
    const problems = await activeProblems();
    box.replaceChildren(
      tiles(c),
      el('div', { class: 'cols' }, problemList(problems), el('div', {}, versions(c), controlPlane(c, rollouts[0]))),
    );
  };
  await render();
  const soon = debounce(() => void render().catch(() => undefined), 300);
  const onEvent = (e: Ev): void => {
    if (/^(node|upgrade|k3s|autoheal|version|versions|cert)\./.test(e.type)) soon();
  };
  listeners.add(onEvent);
  const timer = setInterval(soon, REFRESH_MS);
  return () => {
    listeners.delete(onEvent);
    clearInterval(timer);
    soon.cancel();
  };
}
