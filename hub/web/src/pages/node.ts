// The node page (#/node/ID): state, labels, version, certificate expiry, the health history of the
// last hour as a chart, and the node's events; live from the event stream, the chart every 30 s.
import { api } from '../api.js';
import { ago, debounce, el, s, stateTag, table, type Obj } from '../dom.js';
import { chartLegend, healthChart, type HealthSample } from '../chart.js';
import { listeners, type Ev } from '../stream.js';

const HOUR_MS = 3_600_000;
const EVENT_PAGES = 20;
const SHOWN_EVENTS = 100;

interface Cert { serial: string; notBefore: string; notAfter: string; revokedAt: string | null }

/** The certificate the node uses now: the newest one not revoked. */
function currentCert(certs: Cert[]): Cert | undefined {
  return certs.filter((c) => !c.revokedAt).sort((a, b) => b.notAfter.localeCompare(a.notAfter))[0];
}

function certLine(certs: Cert[]): HTMLElement {
  const c = currentCert(certs);
  if (!c) return el('span', { id: 'cert-expiry', class: 'error' }, 'no valid certificate');
  const days = Math.floor((Date.parse(c.notAfter) - Date.now()) / 86_400_000);
  return el('span', { id: 'cert-expiry', 'data-not-after': c.notAfter, class: days < 7 ? 'error' : '' },
    `expires ${new Date(c.notAfter).toLocaleString()} (in ${days} day${days === 1 ? '' : 's'}; serial ${c.serial.slice(0, 16)})`);
}

function infoCard(n: Obj): HTMLElement {
  const k3s = (n.k3s ?? {}) as Obj;
  const labels = Object.entries((n.labels ?? {}) as Record<string, string>);
  const facts = (n.facts ?? {}) as Obj;
  const row = (k: string, ...v: Array<Node | string>): HTMLElement => el('tr', {}, el('th', {}, k), el('td', {}, ...v));
  return el('section', { class: 'card', id: 'node-info' }, el('h2', {}, s(n.name), ' ', stateTag(n.state)),
    el('table', { class: 'kv' }, el('tbody', {},
      row('ID', s(n.id)),
      row('Pool', s(n.pool)),
      row('State', stateTag(n.state), ` ${((n.reasons as string[] | undefined) ?? []).join(', ')}`),
      row('Agent version', el('span', { id: 'agent-version' }, s(n.agentVersion))),
      row('k3s', `${s(k3s.state)} ${s(k3s.version)}${k3s.ready === true ? ', Ready' : k3s.ready === false ? ', NotReady' : ''}`),
      row('Connected', n.connected ? `since ${ago(n.connectedAt)} from ${s(n.remoteAddress)}` : 'no', ` · last seen ${ago(n.lastSeen)}`),
      row('Host', `${s(facts.hostname)} · ${s(facts.os)} ${s(facts.arch)} · ${s(facts.cpus)} cpu · ${((n.addresses as string[] | undefined) ?? []).join(', ')}`),
      row('Certificate', certLine((n.certificates ?? []) as Cert[])),
      row('Labels', el('span', { id: 'node-labels' }, ...labels.map(([k, v]) => el('code', { class: 'label' }, `${k}=${v}`)))),
    )));
}

async function nodeEvents(id: string): Promise<Ev[]> {
  let cursor = 0;
  let all: Ev[] = [];
  for (let page = 0; page < EVENT_PAGES; page++) {
    const r = await api<{ items: Ev[]; cursor: number }>('GET', `/v1/events?node=${encodeURIComponent(id)}&limit=1000&since=${cursor}`);
    all = all.concat(r.items).slice(-SHOWN_EVENTS);
    if (r.items.length < 1000) break;
    cursor = r.cursor;
  }
  return all;
}

export async function nodePage(main: HTMLElement, args: string[]): Promise<() => void> {
  const id = decodeURIComponent(args[0] ?? '');
  const info = el('div', {});
  const chartBox = el('div', { id: 'health-history' });
  const eventsBox = el('div', { id: 'node-events' });
  main.append(el('p', {}, el('a', { href: '#/nodes' }, '← Nodes')), info,
    el('section', { class: 'card' }, el('h2', {}, 'Health, last hour'), chartLegend(), chartBox),
    el('section', { class: 'card' }, el('h2', {}, 'Events'), eventsBox));

  let events: Ev[] = [];
  const drawEvents = (): void => {
    eventsBox.replaceChildren(events.length ? table(['#', 'Time', 'Type', 'Actor', 'Message'], [...events].reverse().map((e) => el('tr', { 'data-type': e.type },
      el('td', {}, String(e.id)), el('td', {}, new Date(e.at).toLocaleString()), el('td', {}, e.type), el('td', {}, e.actor), el('td', {}, e.message)))) : el('p', { class: 'muted' }, 'No events.'));
  };
  const loadInfo = async (): Promise<void> => { info.replaceChildren(infoCard(await api<Obj>('GET', `/v1/nodes/${encodeURIComponent(id)}`))); };
  const loadChart = async (): Promise<void> => {
    const now = Date.now();
    const h = await api<{ samples: HealthSample[]; since: string }>('GET', `/v1/nodes/${encodeURIComponent(id)}/health-history?since=1h`);
    chartBox.replaceChildren(healthChart(h.samples, Math.min(Date.parse(h.since), now - HOUR_MS), now),
      el('p', { class: 'muted', id: 'health-summary' }, h.samples.length ? `${h.samples.length} sample${h.samples.length === 1 ? '' : 's'}, one per 30 s at most; latest ${ago(h.samples[h.samples.length - 1].at)}` : 'No samples yet: the node has not reported.'));
  };
  await loadInfo();
  await Promise.all([loadChart(), nodeEvents(id).then((e) => { events = e; drawEvents(); })]);

  const refreshInfo = debounce(() => void loadInfo().catch(() => undefined), 200);
  const onEvent = (e: Ev): void => {
    if (e.nodeId !== id || events.some((x) => x.id === e.id)) return;
    // A folded repeat (data.replaces) takes the place of its previous version.
    events = [...events.filter((x) => x.id !== e.data?.replaces), e].slice(-SHOWN_EVENTS);
    drawEvents();
    refreshInfo();
  };
  listeners.add(onEvent);
  const chartTimer = setInterval(() => void loadChart().catch(() => undefined), 30_000);
  const infoTimer = setInterval(refreshInfo, 10_000);
  return () => { listeners.delete(onEvent); clearInterval(chartTimer); clearInterval(infoTimer); refreshInfo.cancel(); };
}
