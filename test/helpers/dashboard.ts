// A hub (k3s stand-in control plane) with two k3s agents (web-0, web-1 in pool default) and one
// agent without k3s (gpu-0 in pool gpu), and headless Chromium logged in to its dashboard: for the
// dashboard page tests. Screenshots go to test-output/screenshots/.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import {
  startHub,
  startAgentJoin,
  waitFor,
  removeDir,
  removeTree,
  ROOT,
  type HubHandle,
  type AgentHandle,
} from './processes.js';
import { freePort } from './ports.js';
import { buildStandin } from './upgrade-cluster.js';
import { keepMinorSupported } from './version-support.js';

export const CHROMIUM = '/usr/bin/chromium';
export const SHOTS = join(ROOT, 'test-output', 'screenshots');
export const SKIP_NO_CHROMIUM = existsSync(CHROMIUM) ? false : 'no /usr/bin/chromium (apt-get install chromium)';
export const V0 = 'v1.31.4+k3s1';

export interface DashboardCluster {
  work: string;
  hub: HubHandle;
  agents: Record<'web-0' | 'web-1' | 'gpu-0', AgentHandle>;
  ids: Map<string, string>;
  browser: Browser;
  page: Page;
  /** Script errors the page raised. */
  pageErrors: string[];
}

interface NodeView {
  id: string;
  name: string;
  state: string;
  k3s: { ready: boolean | null };
}

/** A k3s agent (stand-in kubelet on its own port) labelled hetzner/fsn1. */
async function joinK3s(h: HubHandle, token: string, name: string): Promise<AgentHandle> {
  const kubeletPort = await freePort();
  return startAgentJoin(h, token, {
    k3s: 'auto',
    args: ['--node-name', name, '--label', 'provider=hetzner', '--label', 'region=fsn1'],
    env: {
      ATOLL_STANDIN_KUBELET_PORT: String(kubeletPort),
      ATOLL_AGENT_KUBELET_HEALTHZ_URL: `http://127.0.0.1:${kubeletPort}/healthz`,
      ATOLL_STANDIN_HEARTBEAT_MS: '500',
      ATOLL_AGENT_K3S_START_GRACE_MS: '3000',
    },
  });
}

/** Starts it all; `track` gets every handle as soon as it exists (for stopDashboardCluster on failure). */
export async function startDashboardCluster(
  track: Partial<DashboardCluster> & { agentList: AgentHandle[] },
  hubArgs: string[] = [],
): Promise<DashboardCluster> {
  const work = mkdtempSync(join(tmpdir(), 'atoll-dashboard-'));
  track.work = work;
  mkdirSync(SHOTS, { recursive: true });
  const standin = join(work, 'k3s');
  buildStandin(standin, V0);
  const k3sPort = await freePort();
  const hub = await startHub({
    k3s: standin,
    extraArgs: ['--k3s-https-port', String(k3sPort), '--k3s-arg=--disable-agent', ...hubArgs],
    env: { ATOLL_STANDIN_NODE_GRACE_MS: '3000' },
  });
  track.hub = hub;
  await waitFor(
    'control plane running',
    async () => (await hub.api<{ state: string }>('GET', '/v1/cluster')).body.state === 'running',
    30_000,
  );
  // V0's minor supported whatever today's date: these pages are not about end of life.
  await keepMinorSupported(hub);
  assert.equal((await hub.api('POST', '/v1/pools', { name: 'gpu' })).status, 201);
  const webToken = (await hub.api<{ token: string }>('POST', '/v1/tokens', { uses: 2 })).body.token;
  const gpuToken = (await hub.api<{ token: string }>('POST', '/v1/tokens', { pool: 'gpu' })).body.token;
  const web0 = await joinK3s(hub, webToken, 'web-0');
  track.agentList.push(web0);
  const web1 = await joinK3s(hub, webToken, 'web-1');
  track.agentList.push(web1);
  const gpu0 = startAgentJoin(hub, gpuToken, { k3s: 'off', args: ['--node-name', 'gpu-0', '--label', 'provider=ovh'] });
  track.agentList.push(gpu0);
  const nodes = await waitFor(
    'three nodes ready',
    async () => {
      const items = (await hub.api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items;
      return items.length === 3 &&
        items.every((n) => n.state === 'ready') &&
        items.filter((n) => n.k3s.ready === true).length === 2
        ? items
        : undefined;
    },
    60_000,
  );
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  track.browser = browser;
  const page = await (
    await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1360, height: 860 } })
  ).newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('dialog', (d) => void d.accept());
  return {
    work,
    hub,
    agents: { 'web-0': web0, 'web-1': web1, 'gpu-0': gpu0 },
    ids: new Map(nodes.map((n) => [n.name, n.id])),
    browser,
    page,
    pageErrors,
  };
}

export async function stopDashboardCluster(
  track: Partial<DashboardCluster> & { agentList: AgentHandle[] },
): Promise<void> {
  await track.browser?.close();
  for (const a of track.agentList) await a.proc.kill('SIGKILL');
  if (track.hub) await track.hub.stop('SIGKILL');
  for (const a of track.agentList) removeDir(a.dataDir);
  if (track.hub) removeDir(track.hub.dataDir);
  if (track.work) removeTree(track.work);
}

export async function login(page: Page, h: HubHandle): Promise<void> {
  await page.goto(`${h.apiUrl}/`);
  await page.fill('#login-token', h.adminToken());
  await page.click('#login button[type=submit]');
  await page.waitForSelector('#nav:not([hidden])');
}

/** Waits until `selector` matches exactly `n` elements (polled from here: the page's CSP forbids eval). */
export async function count(page: Page, selector: string, n: number, timeoutMs = 15_000): Promise<void> {
  await waitFor(`${n} × ${selector}`, async () => (await page.locator(selector).count()) === n, timeoutMs);
}

export async function shot(page: Page, name: string): Promise<void> {
  await page.waitForTimeout(150); // let a redraw in flight settle
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}
