// The nodes page (#/nodes?q=&pool=&state=&sort=): search, filter by pool and state, sort by any
// column, 50 a page; each row has the actions that apply to it. A node the hub cannot hear from
// (unreachable, or its agent not connected) shows its last figures greyed out, as stale. Live: the
// event stream and a 5 s poll redraw it; the filters stay in the address (shareable, kept on reload).
import { api } from '../api.js';
import { ago, bar, el, pager, s, stateTag, table, when, type Obj } from '../dom.js';
import { listeners, type Ev } from '../stream.js';
import { compactActions } from './node-actions.js';
import { supportTag } from './support-tag.js';

const PAGE = 50;
/** Worst first: what sorting by state puts on top. */
export const STATE_ORDER = [
  'needs-attention',
  'unreachable',
  'degraded',
  'remediating',
  'upgrading',
  'cordoned',
  'joining',
  'ready',
];

type Key = 'name' | 'state' | 'pool' | 'k3s' | 'lastSeen' | 'cpu' | 'memory' | 'disk';
const COLUMNS: Array<{ key: Key | null; label: string }> = [
  { key: 'name', label: 'Name' },
  { key: 'state', label: 'State' },
  { key: 'pool', label: 'Pool' },
  { key: null, label: 'Provider/region' },
  { key: 'k3s', label: 'k3s' },
  { key: 'lastSeen', label: 'Last seen' },
  { key: 'cpu', label: 'CPU' },
  { key: 'memory', label: 'Memory' },
  { key: 'disk', label: 'Disk' },
];

const health = (n: Obj): Obj => (n.health ?? {}) as Obj;
const usage = (n: Obj, k: 'memory' | 'disk'): number => Number(((health(n)[k] ?? {}) as Obj).usedPercent ?? -1);
/** Whether the figures are old: the hub has not heard from the node lately. */
export const isStale = (n: Obj): boolean => n.state === 'unreachable' || n.connected === false;

function sortValue(n: Obj, key: Key): string | number {
  switch (key) {
    case 'state':
      return STATE_ORDER.indexOf(s(n.state));
    case 'k3s':
      return s((n.k3s as Obj | undefined)?.version);
    case 'lastSeen':
      return n.lastSeen ? -Date.parse(s(n.lastSeen)) : Number.MAX_SAFE_INTEGER;
    case 'cpu':
      return -Number(health(n).cpuPercent ?? -1);
    case 'memory':
      return -usage(n, 'memory');
    case 'disk':
      return -usage(n, 'disk');
    default:
      return s(n[key]).toLowerCase();
  }
}

function matches(n: Obj, q: string): boolean {
  if (!q) return true;
  const labels = Object.entries((n.labels ?? {}) as Record<string, string>).map(([k, v]) => `${k}=${v}`);
  return [
    n.name,
    n.id,
    n.pool,
    n.state,
    ...((n.addresses as string[] | undefined) ?? []),
    ...labels,
    (n.k3s as Obj | undefined)?.version,
  ].some((v) => s(v).toLowerCase().includes(q));
}

/** The link's flaps in the last hour, when the hub reports them (optional field). */
function flaps(n: Obj): number {
  const v = ((n.link ?? {}) as Obj).flaps1h;
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function row(n: Obj, redraw: () => void, menus: { open?: string }): HTMLElement {
  const h = health(n);
  const labels = (n.labels ?? {}) as Record<string, string>;
  const k3s = (n.k3s ?? {}) as Obj;
  const stale = isStale(n);
  const staleTitle = stale ? `stale: the last report, ${ago(h.receivedAt ?? n.lastSeen)}` : '';
  const figure = (v: unknown): HTMLElement =>
    el(
      'td',
      stale ? { class: 'stale', title: staleTitle } : {},
      n.health ? bar(v, stale ? 'stale' : '') : el('span', { class: 'muted' }, '—'),
    );
  const reasons = ((n.reasons as string[] | undefined) ?? []).join(', ');
  const f = flaps(n);
  return el(
    'tr',
    { 'data-node': s(n.name), 'data-id': s(n.id), ...(stale ? { class: 'stale-row' } : {}) },
    el('td', {}, el('a', { class: 'node-link', href: `#/node/${encodeURIComponent(s(n.id))}` }, s(n.name))),
    el(
      'td',
      reasons ? { title: reasons } : {},
      stateTag(n.state),
      f > 0 ? el('span', { class: 'flaps', title: 'link reconnects in the last hour' }, ` ↻${f}`) : null,
    ),
    el('td', {}, s(n.pool)),
    el(
      'td',
      {},
      [labels['topology.kubernetes.io/region'] ?? labels.region, labels.provider].filter(Boolean).join(' / '),
    ),
    el(
      'td',
      {},
      k3s.state === 'disabled' ? el('span', { class: 'muted' }, 'no k3s') : s(k3s.version) || s(k3s.state),
      k3s.state === 'disabled' ? null : supportTag(k3s.support, true),
    ),
    el('td', {}, n.lastSeen ? when(n.lastSeen, { relFirst: true }) : el('span', { class: 'muted' }, 'never')),
    figure(h.cpuPercent),
    figure((h.memory as Obj | undefined)?.usedPercent),
    figure((h.disk as Obj | undefined)?.usedPercent),
    el('td', { class: 'actions' }, ...compactActions(n, redraw, menus)),
  );
}

export async function nodesPage(main: HTMLElement, _args: string[], query: URLSearchParams): Promise<() => void> {
  const search = el('input', {
    id: 'node-search',
    type: 'search',
    placeholder: 'search name, label, address…',
    value: query.get('q') ?? '',
    size: '28',
  }) as HTMLInputElement;
  const pool = el('select', { id: 'node-pool' }, el('option', { value: '' }, 'all pools')) as HTMLSelectElement;
  const state = el(
    'select',
    { id: 'node-state' },
    el('option', { value: '' }, 'all states'),
    ...STATE_ORDER.map((st) => el('option', { value: st }, st)),
  ) as HTMLSelectElement;
  state.value = query.get('state') ?? '';
  const count = el('span', { class: 'muted', id: 'node-count' });
  const holder = el('div', { id: 'nodes-table' });
  const pagerBox = el('div', {});
  main.append(
    el(
      'section',
      { class: 'card' },
      el('h2', {}, 'Nodes'),
      el('div', { class: 'row' }, search, pool, state, count),
      holder,
      pagerBox,
    ),
  );

  let sort: Key = (query.get('sort') as Key | null) ?? 'name';
  let desc = query.get('desc') === '1';
  let offset = 0;
  let nodes: Obj[] = [];
  const menus: { open?: string } = {};
  const poolNames = await api<{ items: Obj[] }>('GET', '/v1/pools').then(
    (r) => r.items.map((p) => s(p.name)),
    () => [] as string[],
  );
  pool.append(...poolNames.map((p) => el('option', { value: p }, p)));
  pool.value = query.get('pool') ?? '';

  const remember = (): void => {
    const q = new URLSearchParams();
    if (search.value.trim()) q.set('q', search.value.trim());
    if (pool.value) q.set('pool', pool.value);
    if (state.value) q.set('state', state.value);
    if (sort !== 'name') q.set('sort', sort);
    if (desc) q.set('desc', '1');
    const text = q.toString();
    history.replaceState(null, '', `#/nodes${text ? `?${text}` : ''}`);
  };
  const draw = (): void => {
    const q = search.value.trim().toLowerCase();
    const shown = nodes.filter(
      (n) => (!pool.value || n.pool === pool.value) && (!state.value || n.state === state.value) && matches(n, q),
    );
    shown.sort((a, b) => {
      const x = sortValue(a, sort);
      const y = sortValue(b, sort);
      const c = x < y ? -1 : x > y ? 1 : s(a.name).localeCompare(s(b.name));
      return desc ? -c : c;
    });
    offset = Math.max(0, Math.min(offset, Math.floor(Math.max(0, shown.length - 1) / PAGE) * PAGE));
    count.textContent = `${shown.length} of ${nodes.length} node${nodes.length === 1 ? '' : 's'}`;
    const head = COLUMNS.map((c) =>
      c.key
        ? el(
            'th',
            {
              class: `sortable${c.key === sort ? ' sorted' : ''}`,
              'data-sort': c.key,
              title: 'sort',
              click: () => {
                desc = c.key === sort ? !desc : false;
                sort = c.key as Key;
                remember();
                draw();
              },
            },
            c.label,
            c.key === sort ? (desc ? ' ▾' : ' ▴') : '',
          )
        : el('th', {}, c.label),
    );
    const redraw = (): void => void render().catch(() => undefined);
    if (!nodes.length)
      holder.replaceChildren(
        el('p', { class: 'muted' }, 'No nodes yet: create a join token (Tokens) and run the install line on a server.'),
      );
    else if (!shown.length)
      holder.replaceChildren(el('p', { class: 'muted', id: 'no-match' }, 'No node matches the search and filters.'));
    else
      holder.replaceChildren(
        table(
          [...head, el('th', {}, '')],
          shown.slice(offset, offset + PAGE).map((n) => row(n, redraw, menus)),
        ),
      );
    pagerBox.replaceChildren(
      shown.length > PAGE
        ? pager({
            id: 'nodes-pager',
            from: offset,
            count: Math.min(PAGE, shown.length - offset),
            total: shown.length,
            hasPrev: offset > 0,
            hasNext: offset + PAGE < shown.length,
            prev: () => {
              offset -= PAGE;
              draw();
            },
            next: () => {
              offset += PAGE;
              draw();
            },
          })
        : el('span', {}),
    );
  };
  const render = async (): Promise<void> => {
    nodes = (await api<{ items: Obj[] }>('GET', '/v1/nodes')).items;
    draw();
  };
  const refilter = (): void => {
    offset = 0;
    remember();
    draw();
  };
  search.addEventListener('input', refilter);
  pool.addEventListener('change', refilter);
  state.addEventListener('change', refilter);
  await render();

  let pending: ReturnType<typeof setTimeout> | undefined;
  const onEvent = (e: Ev): void => {
    if (!e.type.startsWith('node.') && e.type !== 'admin.action' && e.type !== 'api.request') return;
    clearTimeout(pending);
    pending = setTimeout(() => void render().catch(() => undefined), 150);
  };
  listeners.add(onEvent);
  const timer = setInterval(() => void render().catch(() => undefined), 5_000);
  return () => {
    listeners.delete(onEvent);
    clearInterval(timer);
    clearTimeout(pending);
  };
}
