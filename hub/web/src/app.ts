// The atoll web dashboard: plain TypeScript, no framework. Token in sessionStorage; every view reads
// /v1 with it; pages update live from /v1/events/stream (stream.ts). This file is the shell: login,
// and routing of #/page/arg?query to the page modules under pages/.
import { api, session } from './api.js';
import { $, el } from './dom.js';
import { startStream, stopStream } from './stream.js';
import { loginForm } from './login.js';
import { overviewPage } from './pages/overview.js';
import { nodesPage } from './pages/nodes.js';
import { nodePage } from './pages/node.js';
import { eventsPage } from './pages/events.js';
import { tokensPage } from './pages/tokens.js';
import { upgradesPage } from './pages/upgrades.js';
import { poolsPage } from './pages/pools.js';

type Page = (main: HTMLElement, args: string[], query: URLSearchParams) => Promise<void | (() => void)>;

const pages: Record<string, Page> = {
  cluster: overviewPage,
  nodes: nodesPage,
  node: nodePage,
  events: eventsPage,
  tokens: tokensPage,
  upgrades: upgradesPage,
  pools: poolsPage,
};

/** What the nav highlights for a page (the node page belongs to Nodes). */
const NAV_OF: Record<string, string> = { node: 'nodes' };

const shell = { cleanup: undefined as (() => void) | void, seq: 0 };

async function route(): Promise<void> {
  if (!session.token) return showLogin();
  const [path, q = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const [asked = 'cluster', ...args] = path.split('/').filter(Boolean);
  const name = pages[asked] ? asked : 'cluster';
  if (typeof shell.cleanup === 'function') shell.cleanup();
  shell.cleanup = undefined;
  const seq = ++shell.seq;
  for (const a of document.querySelectorAll<HTMLAnchorElement>('#nav a'))
    a.classList.toggle('active', a.dataset.page === (NAV_OF[name] ?? name));
  const main = $('main');
  main.replaceChildren();
  main.dataset.page = name;
  try {
    const cleanup = await pages[name](main, args, new URLSearchParams(q));
    // A newer route came while this page loaded: stop this one at once.
    if (seq !== shell.seq) {
      if (typeof cleanup === 'function') cleanup();
      return;
    }
    shell.cleanup = cleanup;
  } catch (err) {
    if (seq === shell.seq) main.append(el('p', { class: 'error' }, (err as Error).message));
  }
}

function showLogin(error = ''): void {
  $('nav').hidden = true;
  $('logout').hidden = true;
  $('who').textContent = '';
  $('main').replaceChildren(loginForm((t) => void login(t), error));
  $('login-token').focus();
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
    showLogin(`${(err as Error).message}`);
  }
}

function logout(): void {
  session.clear();
  stopStream();
  if (typeof shell.cleanup === 'function') shell.cleanup();
  shell.cleanup = undefined;
  showLogin();
}
session.onUnauthorized = logout;

$('logout').addEventListener('click', logout);
window.addEventListener('hashchange', () => void route());
if (session.token) void login(session.token);
else showLogin();
