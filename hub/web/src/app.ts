// The atoll web dashboard: plain TypeScript, no framework. Token in sessionStorage; every view reads
// /v1 with it; pages update live from /v1/events/stream (stream.ts). This file: the shell (login,
// routing) and the cluster, nodes, tokens and events pages; the node, upgrades and pools pages have
// modules of their own under pages/.
import { api, can, session } from './api.js';
import { $, ago, bar, el, s, stateTag, table, toast, type Obj } from './dom.js';
import { listeners, startStream, stopStream, type Ev } from './stream.js';
import { nodePage } from './pages/node.js';
import { upgradesPage } from './pages/upgrades.js';
import { poolsPage } from './pages/pools.js';
import { installLine } from '../../installer/install-line.js';

// ---- pages ---------------------------------------------------------------------------------------
type Page = (main: HTMLElement, args: string[]) => Promise<void | (() => void)>;

const pages: Record<string, Page> = {
  async cluster(main) {
    const c = await api<Obj>('GET', '/v1/cluster');
    const nodes = c.nodes as { total: number; connected: number; byState: Record<string, number> };
    const ah = c.autoheal as { enabled?: boolean; paused?: boolean; guard?: { frozen?: boolean; reason?: string } };
    main.append(el('section', { class: 'card' }, el('h2', {}, 'Control plane'),
      el('p', {}, 'State: ', stateTag(c.state), ` ${s(c.message)}`),
      el('p', {}, `k3s version: ${s(c.version) || '—'} · hub ${s(c.hubVersion)} · gateway ${s(c.publicUrl)}`),
      el('p', {}, `Nodes: ${nodes.total} (${nodes.connected} connected) — `, ...Object.entries(nodes.byState).filter(([, n]) => n > 0).map(([st, n]) => el('span', {}, stateTag(st), ` ${n} `))),
      el('p', {}, `Autoheal: ${ah.enabled === false ? 'off' : 'on'}${ah.paused ? ', paused' : ''}; guard: ${ah.guard?.frozen ? `frozen (${s(ah.guard.reason)})` : 'open'}`)));
    const ups = await api<{ items: Array<{ id: string; version: string; state: string }> }>('GET', '/v1/upgrades').catch(() => undefined);
    const latest = ups?.items[0];
    if (latest) main.append(el('section', { class: 'card' }, el('h2', {}, 'Upgrades'), el('p', {}, `Latest rollout ${latest.id} to ${latest.version}: `, stateTag(latest.state), ' ', el('a', { href: '#/upgrades' }, 'details'))));
  },

  async nodes(main) {
    const box = el('section', { class: 'card' }, el('h2', {}, 'Nodes'));
    const holder = el('div', { id: 'nodes-table' });
    box.append(holder);
    main.append(box);
    const act = async (id: string, name: string, action: string): Promise<void> => {
      try {
        if (action === 'remove') {
          if (!confirm(`Remove ${name}? Its certificate is revoked.`)) return;
          await api('DELETE', `/v1/nodes/${encodeURIComponent(id)}`);
        } else {
          await api('POST', `/v1/nodes/${encodeURIComponent(id)}/actions/${action}`);
        }
        toast(`${action} on ${name}: done`);
      } catch (err) {
        toast(`${action} on ${name} failed: ${(err as Error).message}`);
      }
      void render();
    };
    const render = async (): Promise<void> => {
      const r = await api<{ items: Obj[] }>('GET', '/v1/nodes');
      const rows = r.items.map((n) => {
        const h = n.health as Obj | null;
        const labels = n.labels as Record<string, string>;
        const k3s = n.k3s as Obj;
        const actions = can('nodes:act') ? el('td', { class: 'actions' }, ...['cordon', 'uncordon', 'restart-k3s', 'reboot'].map((a) => el('button', { 'data-action': a, click: () => void act(s(n.id), s(n.name), a) }, a)),
          can('nodes:remove') ? el('button', { class: 'danger', 'data-action': 'remove', click: () => void act(s(n.id), s(n.name), 'remove') }, 'remove') : null) : el('td', {});
        return el('tr', { 'data-node': s(n.name), 'data-id': s(n.id) },
          el('td', {}, el('a', { class: 'node-link', href: `#/node/${encodeURIComponent(s(n.id))}` }, s(n.name))), el('td', {}, stateTag(n.state)), el('td', {}, s(n.pool)),
          el('td', {}, [labels['topology.kubernetes.io/region'] ?? labels.region, labels.provider].filter(Boolean).join(' / ')),
          el('td', {}, `${s(k3s?.state)} ${s(k3s?.version)}`), el('td', {}, ago(n.lastSeen)),
          el('td', {}, bar(h?.cpuPercent)), el('td', {}, bar((h?.memory as Obj | undefined)?.usedPercent)), el('td', {}, bar((h?.disk as Obj | undefined)?.usedPercent)), actions);
      });
      holder.replaceChildren(rows.length ? table(['Name', 'State', 'Pool', 'Provider/region', 'k3s', 'Last seen', 'CPU', 'Memory', 'Disk', can('nodes:act') ? 'Actions' : ''], rows) : el('p', { class: 'muted' }, 'No nodes yet: create a token and run the install line on a server.'));
    };
    await render();
    let pending: ReturnType<typeof setTimeout> | undefined;
    const onEvent = (e: Ev): void => {
      if (!e.type.startsWith('node.') && e.type !== 'admin.action' && e.type !== 'api.request') return;
      clearTimeout(pending);
      pending = setTimeout(() => void render().catch(() => undefined), 150);
    };
    listeners.add(onEvent);
    const timer = setInterval(() => void render().catch(() => undefined), 5_000);
    return () => { listeners.delete(onEvent); clearInterval(timer); clearTimeout(pending); };
  },

  async tokens(main) {
    const canCreate = can('tokens:write');
    if (canCreate) {
      const pools = (await api<{ items: Obj[] }>('GET', '/v1/pools')).items.map((p) => s(p.name));
      const pool = el('select', { id: 'token-pool' }, ...pools.map((p) => el('option', { value: p }, p))) as HTMLSelectElement;
      const ttl = el('input', { id: 'token-ttl', value: '1h', size: '6' }) as HTMLInputElement;
      const uses = el('input', { id: 'token-uses', value: '1', size: '4', type: 'number', min: '1' }) as HTMLInputElement;
      const out = el('div', { id: 'token-created' });
      const create = async (): Promise<void> => {
        try {
          const t = await api<Obj>('POST', '/v1/tokens', { pool: pool.value, ttl: ttl.value, uses: Number(uses.value) || 1, description: 'dashboard' });
          const cluster = await api<Obj>('GET', '/v1/cluster');
          // The same pinned line as atoll-hub join-command prints.
          const line = installLine(s(cluster.publicUrl), s(cluster.servingPin), s(t.token));
          const cloudInit = await api<string>('GET', `/v1/pools/${encodeURIComponent(pool.value)}/cloud-init`).catch((e: Error) => `(${e.message})`);
          const copy = (text: string) => () => void navigator.clipboard?.writeText(text).then(() => toast('copied'), () => toast('copy failed'));
          out.replaceChildren(el('div', { class: 'card' },
            el('p', {}, el('strong', {}, 'Token (shown once): '), el('code', { id: 'new-token' }, s(t.token)), ' ', el('button', { click: copy(s(t.token)) }, 'Copy')),
            el('p', {}, 'Install line:'), el('pre', { id: 'install-line' }, line), el('button', { click: copy(line) }, 'Copy install line'),
            el('p', {}, 'Or a cloud-init document (it carries its own single-use token):'), el('pre', { id: 'cloud-init' }, cloudInit)));
          void list();
        } catch (err) {
          out.replaceChildren(el('p', { class: 'error' }, (err as Error).message));
        }
      };
      main.append(el('section', { class: 'card' }, el('h2', {}, 'Create a join token'),
        el('div', { class: 'row' }, 'Pool ', pool, ' TTL ', ttl, ' Uses ', uses, el('button', { class: 'primary', id: 'create-token', click: () => void create() }, 'Create')), out));
    }
    const holder = el('div', {});
    main.append(el('section', { class: 'card' }, el('h2', {}, 'Join tokens'), holder));
    const list = async (): Promise<void> => {
      const r = await api<{ items: Obj[] }>('GET', '/v1/tokens');
      holder.replaceChildren(table(['ID', 'Pool', 'Status', 'Uses', 'Expires', 'Description', ''], r.items.map((t) => el('tr', { 'data-token': s(t.id) },
        el('td', {}, s(t.id)), el('td', {}, s(t.pool)), el('td', {}, s(t.status)), el('td', {}, `${s(t.uses)}/${t.reusable ? '∞' : s(t.maxUses)}`),
        el('td', {}, s(t.expiresAt)), el('td', {}, s(t.description)),
        el('td', {}, canCreate && t.status === 'active' ? el('button', { class: 'danger', click: () => void api('DELETE', `/v1/tokens/${encodeURIComponent(s(t.id))}`).then(list, (e: Error) => toast(e.message)) }, 'Revoke') : null)))));
    };
    await list();
  },

  async events(main) {
    const type = el('input', { id: 'event-type', placeholder: 'type, e.g. node.state' }) as HTMLInputElement;
    const node = el('input', { id: 'event-node', placeholder: 'node id' }) as HTMLInputElement;
    const holder = el('div', { id: 'events-table' });
    let shown: Ev[] = [];
    const draw = (): void => {
      holder.replaceChildren(table(['#', 'Time', 'Type', 'Actor', 'Message'], [...shown].reverse().slice(0, 300).map((e) => el('tr', { 'data-type': e.type },
        el('td', {}, String(e.id)), el('td', {}, new Date(e.at).toLocaleTimeString()), el('td', {}, e.type), el('td', {}, e.actor), el('td', {}, e.message)))));
    };
    const load = async (): Promise<void> => {
      const q = new URLSearchParams({ limit: '1000' });
      if (type.value) q.set('type', type.value);
      if (node.value) q.set('node', node.value);
      let cursor = 0;
      shown = [];
      for (let page = 0; page < 50; page++) {
        const r = await api<{ items: Ev[]; cursor: number }>('GET', `/v1/events?${q}&since=${cursor}`);
        shown.push(...r.items);
        if (r.items.length < 1000) break;
        cursor = r.cursor;
      }
      shown = shown.slice(-300);
      draw();
    };
    main.append(el('section', { class: 'card' }, el('h2', {}, 'Events'), el('div', { class: 'row' }, type, node, el('button', { click: () => void load() }, 'Filter')), holder));
    await load();
    const onEvent = (e: Ev): void => {
      if ((type.value && e.type !== type.value) || (node.value && e.nodeId !== node.value) || shown.some((x) => x.id === e.id)) return;
      // A folded repeat (data.replaces) takes the place of its previous version.
      shown = shown.filter((x) => x.id !== e.data?.replaces);
      shown.push(e);
      draw();
    };
    listeners.add(onEvent);
    return () => listeners.delete(onEvent);
  },

  node: nodePage,
  upgrades: upgradesPage,
  pools: poolsPage,
};

// ---- shell ---------------------------------------------------------------------------------------
let cleanup: (() => void) | void;
async function route(): Promise<void> {
  if (!session.token) return showLogin();
  const [name = 'nodes', ...args] = location.hash.replace(/^#\//, '').split('/').filter(Boolean);
  const page = pages[name] ?? pages.nodes;
  if (typeof cleanup === 'function') cleanup();
  cleanup = undefined;
  for (const a of document.querySelectorAll<HTMLAnchorElement>('#nav a')) a.classList.toggle('active', a.dataset.page === (name === 'node' ? 'nodes' : name));
  const main = $('main');
  main.replaceChildren();
  main.dataset.page = name;
  try {
    cleanup = await page(main, args);
  } catch (err) {
    main.append(el('p', { class: 'error' }, (err as Error).message));
  }
}

function showLogin(): void {
  $('nav').hidden = true;
  $('logout').hidden = true;
  $('who').textContent = '';
  const form = el('form', { id: 'login', class: 'card' }, el('h1', {}, 'Log in'),
    el('p', {}, 'Paste the admin token or an API token. It is kept in this browser tab only.'),
    el('input', { id: 'login-token', type: 'password', autocomplete: 'off', placeholder: 'token', required: '' }),
    ' ', el('button', { type: 'submit' }, 'Log in'), el('p', { id: 'login-error', class: 'error' }));
  form.addEventListener('submit', (ev) => { ev.preventDefault(); void login(($('login-token') as HTMLInputElement).value.trim()); });
  $('main').replaceChildren(form);
}

async function login(candidate: string): Promise<void> {
  session.token = candidate;
  try {
    const me = await api<{ id: string; role: string; permissions: string[] }>('GET', '/v1/whoami');
    session.perms = me.permissions;
    session.save(candidate);
    $('who').textContent = `${me.id} (${me.role})`;
    $('nav').hidden = false;
    $('logout').hidden = false;
    void startStream();
    await route();
  } catch (err) {
    session.clear();
    showLogin();
    $('login-error').textContent = (err as Error).message;
  }
}

function logout(): void {
  session.clear();
  stopStream();
  showLogin();
}
session.onUnauthorized = logout;

$('logout').addEventListener('click', logout);
window.addEventListener('hashchange', () => void route());
if (session.token) void login(session.token);
else showLogin();
