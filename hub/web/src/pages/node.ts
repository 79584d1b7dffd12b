// The node page (#/node/ID): the actions that apply, state, labels, versions, certificate expiry; its
// conditions and taints; the health history of the last hour as a chart; its events, paged. Live
// from the event stream; the chart every 30 s.
import { api } from '../api.js';
import { ago, debounce, el, s, stateTag, when, type Obj } from '../dom.js';
import { chartLegend, healthChart, type HealthSample } from '../chart.js';
import { listeners, type Ev } from '../stream.js';
import { actionButtons } from './node-actions.js';
import { isStale } from './nodes.js';
import { conditionsCard } from './node-conditions.js';
import { eventList } from './event-list.js';
import { supportTag } from './support-tag.js';

const HOUR_MS = 3_600_000;

interface Cert {
  serial: string;
  notBefore: string;
  notAfter: string;
  revokedAt: string | null;
}

/** The certificate the node uses now: the newest one not revoked. */
function currentCert(certs: Cert[]): Cert | undefined {
  return certs.filter((c) => !c.revokedAt).sort((a, b) => b.notAfter.localeCompare(a.notAfter))[0];
}

function certLine(certs: Cert[]): HTMLElement {
  const c = currentCert(certs);
  if (!c) return el('span', { id: 'cert-expiry', class: 'error' }, 'no valid certificate');
  const days = Math.floor((Date.parse(c.notAfter) - Date.now()) / 86_400_000);
  return el(
    'span',
    { id: 'cert-expiry', 'data-not-after': c.notAfter, class: days < 7 ? 'error' : '' },
    Date.parse(c.notAfter) > Date.now() ? 'expires ' : 'expired ',
    when(c.notAfter, { relFirst: true }),
    el('span', { class: 'muted' }, ` (serial ${c.serial.slice(0, 16)})`),
  );
}

function infoCard(n: Obj, redraw: () => void): HTMLElement {
  const k3s = (n.k3s ?? {}) as Obj;
  const labels = Object.entries((n.labels ?? {}) as Record<string, string>);
  const facts = (n.facts ?? {}) as Obj;
  const link = (n.link ?? null) as Obj | null;
  const row = (k: string, ...v: Array<Node | string | null>): HTMLElement =>
    el('tr', {}, el('th', {}, k), el('td', {}, ...v));
  const buttons = actionButtons(n, redraw);
  return el(
    'section',
    { class: 'card', id: 'node-info' },
    el(
      'div',
      { class: 'title-row' },
      el('h2', {}, s(n.name), ' ', stateTag(n.state)),
      el('div', { class: 'actions', id: 'node-actions' }, ...buttons),
    ),
    isStale(n)
      ? el(
          'p',
          { class: 'notice', id: 'stale-notice' },
          `The hub has not heard from this node since ${ago(n.lastSeen)}: the figures below are from its last report.`,
        )
      : null,
    el(
      'table',
      { class: 'kv' },
      el(
        'tbody',
        {},
        row('ID', el('code', {}, s(n.id))),
        row('Pool', el('a', { href: `#/nodes?pool=${encodeURIComponent(s(n.pool))}` }, s(n.pool))),
        row('State', stateTag(n.state), ` ${((n.reasons as string[] | undefined) ?? []).join(', ')}`),
        row('Agent version', el('span', { id: 'agent-version' }, s(n.agentVersion))),
        row(
          'k3s',
          `${s(k3s.state)} ${s(k3s.version)}${k3s.ready === true ? ', Ready' : k3s.ready === false ? ', NotReady' : ''} `,
          el('span', { id: 'k3s-support' }, supportTag(k3s.support)),
        ),
        row(
          'Connected',
          n.connected
            ? el('span', {}, 'since ', when(n.connectedAt, { relFirst: true }), ` from ${s(n.remoteAddress)}`)
            : el('span', { class: 'error' }, 'no'),
          ' · last seen ',
          when(n.lastSeen, { relFirst: true }),
        ),
        link && typeof link.flaps1h === 'number'
          ? row('Link', `${link.flaps1h} reconnect${link.flaps1h === 1 ? '' : 's'} in the last hour`)
          : null,
        row(
          'Host',
          `${s(facts.hostname)} · ${s(facts.os)} ${s(facts.arch)} · ${s(facts.cpus)} cpu · ${((n.addresses as string[] | undefined) ?? []).join(', ')}`,
        ),
        row('Certificate', certLine((n.certificates ?? []) as Cert[])),
        row('Joined', when(n.createdAt)),
        row(
          'Labels',
          el('span', { id: 'node-labels' }, ...labels.map(([k, v]) => el('code', { class: 'label' }, `${k}=${v}`))),
        ),
      ),
    ),
  );
}

export async function nodePage(main: HTMLElement, args: string[]): Promise<() => void> {
  const id = decodeURIComponent(args[0] ?? '');
  const info = el('div', {});
  const conditions = el('div', {});
  const chartBox = el('div', { id: 'health-history' });
  const events = eventList({ id: 'node-events', pageSize: 25 });
  main.append(
    el('p', {}, el('a', { href: '#/nodes' }, '← Nodes')),
    info,
    conditions,
    el('section', { class: 'card' }, el('h2', {}, 'Health, last hour'), chartLegend(), chartBox),
    el('section', { class: 'card' }, el('h2', {}, 'Events'), events.box),
  );

  const loadInfo = async (): Promise<void> => {
    const n = await api<Obj>('GET', `/v1/nodes/${encodeURIComponent(id)}`);
    info.replaceChildren(infoCard(n, () => refreshInfo()));
    conditions.replaceChildren(conditionsCard(n));
  };
  const loadChart = async (): Promise<void> => {
    const now = Date.now();
    const h = await api<{ samples: HealthSample[]; since: string }>(
      'GET',
      `/v1/nodes/${encodeURIComponent(id)}/health-history?since=1h`,
    );
    chartBox.replaceChildren(
      healthChart(h.samples, Math.min(Date.parse(h.since), now - HOUR_MS), now),
      el(
        'p',
        { class: 'muted', id: 'health-summary' },
        h.samples.length
          ? `${h.samples.length} sample${h.samples.length === 1 ? '' : 's'}, one per 30 s at most; latest ${ago(h.samples[h.samples.length - 1].at)}`
          : 'No samples yet: the node has not reported.',
      ),
    );
  };
  const refreshInfo = debounce(() => void loadInfo().catch(() => undefined), 200);
  await loadInfo();
  await Promise.all([loadChart(), events.load({ node: id })]);

  const onEvent = (e: Ev): void => {
    if (e.nodeId === id) refreshInfo();
  };
  listeners.add(onEvent);
  const chartTimer = setInterval(() => void loadChart().catch(() => undefined), 30_000);
  const infoTimer = setInterval(refreshInfo, 10_000);
  return () => {
    listeners.delete(onEvent);
    events.stop();
    clearInterval(chartTimer);
    clearInterval(infoTimer);
    refreshInfo.cancel();
  };
}
