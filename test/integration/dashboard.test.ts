// The web dashboard in headless Chromium (playwright-core with Debian's chromium): log in, create a
// join token, watch a node joined by a real agent with that token turn `ready` live (no reload),
// cordon it (the hub runs the k3s stand-in, so there is a control plane), see the event, open the
// node's page (health chart with a point, certificate expiry, labels, events), start a k3s upgrade
// from the upgrades page and watch its node move live, edit a pool's autoheal settings, and save
// screenshots of the pages under test-output/dashboard/. A read-only login sees no action buttons.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import {
  startHub,
  startAgentJoin,
  waitFor,
  removeDir,
  ROOT,
  type HubHandle,
  type AgentHandle,
  removeTree,
} from '../helpers/processes.js';
import { freePort } from '../helpers/ports.js';
import { buildStandin, importK3s } from '../helpers/upgrade-cluster.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(ROOT, 'test-output', 'dashboard');
let work: string;
let hub: HubHandle | undefined;
let agent: AgentHandle | undefined;
let browser: Browser | undefined;

before(() => {
  work = mkdtempSync(join(tmpdir(), 'atoll-dashboard-'));
  mkdirSync(SHOTS, { recursive: true });
});
after(async () => {
  await browser?.close();
  if (agent) {
    await agent.proc.kill('SIGKILL');
    removeDir(agent.dataDir);
  }
  if (hub) {
    await hub.stop('SIGKILL');
    removeDir(hub.dataDir);
  }
  removeTree(work);
});

async function launch(): Promise<Browser> {
  // launch() gives Chromium a fresh temporary profile of its own (--user-data-dir is refused here).
  return chromium.launch({
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
}

async function login(page: Page, h: HubHandle, token: string): Promise<void> {
  await page.goto(`${h.apiUrl}/`);
  await page.fill('#login-token', token);
  await page.click('#login button[type=submit]');
  await page.waitForSelector('#nav:not([hidden])');
}

test(
  'dashboard: log in, create a token, a real agent joins and turns ready live, cordon it, see the event',
  { skip: existsSync(CHROMIUM) ? false : 'no /usr/bin/chromium (apt-get install chromium)' },
  async () => {
    const standin = join(work, 'k3s');
    const b = spawnSync(process.execPath, [join(ROOT, 'scripts/build-standin.mjs'), '--out', standin], {
      encoding: 'utf8',
    });
    assert.equal(b.status, 0, b.stderr);
    const k3sPort = await freePort();
    hub = await startHub({
      k3s: standin,
      extraArgs: ['--k3s-https-port', String(k3sPort), '--k3s-arg=--disable-agent'],
      env: { ATOLL_STANDIN_NODE_GRACE_MS: '3000' },
    });
    const h = hub;
    await waitFor(
      'control plane running',
      async () => (await h.api<{ state: string }>('GET', '/v1/cluster')).body.state === 'running',
      30_000,
    );

    browser = await launch();
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1400, height: 900 } });
    const page = await ctx.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await login(page, h, h.adminToken());
    assert.equal(await page.evaluate("sessionStorage.getItem('atoll.token') !== null"), true);

    // Create a join token: shown once, with the install line and a cloud-init document.
    await page.goto(`${h.apiUrl}/#/tokens`);
    const liveBefore = (await h.api<{ items: unknown[] }>('GET', '/v1/tokens')).body.items.length;
    await page.click('#create-token');
    const token = (await page.textContent('#new-token', { timeout: 10_000 }))?.trim() ?? '';
    assert.match(token, /\S{20,}/);
    assert.ok((await page.textContent('#install-line'))?.includes(token));
    assert.match(
      (await page.textContent('#install-line')) ?? '',
      /^curl -sSfL --pinnedpubkey 'sha256\/\/[A-Za-z0-9+/]{43}=' --insecure https:/,
    );
    // One token per create: the cloud-init document (with a token of its own) is made only when asked.
    const live = await h.api<{ items: unknown[] }>('GET', '/v1/tokens');
    assert.equal(live.body.items.length, liveBefore + 1, 'creating a token in the dashboard makes one token');
    await page.click('#make-cloud-init');
    // Polled from the test side: waitForFunction evaluates a string in the page, which the dashboard's CSP (no unsafe-eval) refuses.
    await waitFor(
      'cloud-init document shown',
      async () => ((await page.textContent('#cloud-init')) ?? '').startsWith('#cloud-config'),
      10_000,
    );
    assert.match((await page.textContent('#cloud-init')) ?? '', /^#cloud-config/);
    await page.screenshot({ path: join(SHOTS, 'tokens.png'), fullPage: true });

    // The nodes page is open before the agent exists; the node appears and turns ready without a reload.
    await page.goto(`${h.apiUrl}/#/nodes`);
    await page.waitForSelector('#nodes-table');
    await page.evaluate('window.atollMarker = 42');
    const kubeletPort = await freePort();
    agent = startAgentJoin(h, token, {
      k3s: 'auto',
      args: ['--node-name', 'web-1', '--label', 'tier=web'],
      env: {
        ATOLL_STANDIN_KUBELET_PORT: String(kubeletPort),
        ATOLL_AGENT_KUBELET_HEALTHZ_URL: `http://127.0.0.1:${kubeletPort}/healthz`,
        ATOLL_STANDIN_HEARTBEAT_MS: '1000',
        ATOLL_AGENT_K3S_START_GRACE_MS: '3000',
      },
    });
    await page.waitForSelector('tr[data-node="web-1"] .state[data-state="ready"]', { timeout: 60_000 });
    assert.equal(await page.evaluate('window.atollMarker'), 42, 'the page was not reloaded');
    await page.screenshot({ path: join(SHOTS, 'nodes.png'), fullPage: true });

    // Cordon needs the node registered in Kubernetes.
    const id = await page.getAttribute('tr[data-node="web-1"]', 'data-id');
    assert.ok(id);
    await waitFor(
      'kubelet registered',
      async () => (await h.api<{ k3s: { ready: boolean | null } }>('GET', `/v1/nodes/${id}`)).body.k3s.ready === true,
      40_000,
    );
    await page.click('tr[data-node="web-1"] button[data-action="cordon"]');
    await page.waitForSelector('#toast:has-text("cordon on web-1: done")', { timeout: 20_000 });

    await page.goto(`${h.apiUrl}/#/events`);
    await page.waitForSelector('tr[data-type="admin.action"]:has-text("cordon on web-1")', { timeout: 10_000 });
    await page.screenshot({ path: join(SHOTS, 'events.png'), fullPage: true });

    // The node page: click the node in the table.
    await page.goto(`${h.apiUrl}/#/nodes`);
    await page.click('tr[data-node="web-1"] a.node-link');
    await page.waitForSelector('#main[data-page="node"] #node-info');
    assert.equal(page.url(), `${h.apiUrl}/#/node/${id}`);
    // At least one sample: the node has been reporting since it joined.
    await page.waitForSelector('#health-chart .series-cpu circle', { timeout: 30_000 });
    assert.ok(Number(await page.getAttribute('#health-chart', 'data-points')) >= 1);
    assert.equal(
      await page.locator('#health-chart .series-memory circle').count(),
      await page.locator('#health-chart .series-cpu circle').count(),
    );
    const notAfter = await page.getAttribute('#cert-expiry', 'data-not-after');
    const certs = (
      await h.api<{ certificates: Array<{ notAfter: string; revokedAt: string | null }> }>('GET', `/v1/nodes/${id}`)
    ).body.certificates;
    assert.equal(
      notAfter,
      certs
        .filter((c) => !c.revokedAt)
        .map((c) => c.notAfter)
        .sort()
        .at(-1),
    );
    assert.ok(Date.parse(notAfter ?? '') > Date.now());
    assert.match((await page.textContent('#cert-expiry')) ?? '', /^expires in \d+d · /);
    assert.ok((await page.textContent('#node-labels'))?.includes('tier=web'));
    await page.waitForSelector('#node-events tr[data-type="admin.action"]:has-text("cordon on web-1")');
    await page.screenshot({ path: join(SHOTS, 'node.png'), fullPage: true });

    // Upgrades: uncordon (a cordoned node counts against the pool's cap), import a newer k3s, start a
    // rollout from the page and watch the node move through its phases without a reload.
    await page.goto(`${h.apiUrl}/#/nodes`);
    await page.click('tr[data-node="web-1"] button[data-action="uncordon"]');
    await page.waitForSelector('tr[data-node="web-1"] .state[data-state="ready"]', { timeout: 20_000 });
    const next = 'v1.31.5+k3s1';
    buildStandin(join(work, 'k3s-next'), next);
    await importK3s(h, next, join(work, 'k3s-next'), process.arch === 'arm64' ? 'arm64' : 'amd64');
    await page.goto(`${h.apiUrl}/#/upgrades`);
    await page.waitForSelector('#start-upgrade');
    await page.evaluate('window.atollMarker = 43');
    assert.equal(await page.inputValue('#upgrade-version'), next, 'the imported version is offered');
    await page.selectOption('#upgrade-pool', 'default');
    await page.selectOption('#upgrade-window', 'now');
    await page.fill('#upgrade-dwell', '3s');
    await page.click('#start-upgrade');
    await page
      .waitForSelector('#rollout[data-rollout] tr[data-node="web-1"]', { timeout: 30_000 })
      .catch(async (err: Error) => {
        await page.screenshot({ path: join(SHOTS, 'upgrades-failed.png'), fullPage: true });
        throw new Error(`${err.message}\nthe page says: ${await page.textContent('#upgrade-error')}`);
      });
    assert.equal(await page.textContent('#upgrade-error'), '');
    const rolloutId = await page.getAttribute('#rollout', 'data-rollout');
    await page
      .waitForSelector('#rollout tr[data-node="web-1"]:not([data-phase="pending"]):not([data-phase="preflight"])', {
        timeout: 90_000,
      })
      .catch(async (err: Error) => {
        await page.screenshot({ path: join(SHOTS, 'upgrades-failed.png'), fullPage: true });
        throw new Error(
          `${err.message}\nrollout: ${JSON.stringify((await h.api('GET', `/v1/upgrades/${rolloutId}`)).body)}`,
        );
      });
    const phase = await page.getAttribute('#rollout tr[data-node="web-1"]', 'data-phase');
    const nodePct = Number(await page.getAttribute('#rollout tr[data-node="web-1"] .node-progress .pct', 'data-pct'));
    assert.ok(nodePct > 0, `phase ${phase}: ${nodePct}%`);
    // The control plane goes first when it is older; it is done before a node starts.
    const cpPhase = await page
      .locator('#rollout tr[data-control-plane]')
      .getAttribute('data-phase', { timeout: 1000 })
      .catch(() => null);
    if (cpPhase !== null) assert.equal(cpPhase, 'done');
    const parts = await page
      .locator('#rollout .node-progress .pct')
      .evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-pct'))));
    assert.equal(
      Number(await page.getAttribute('#rollout-overall .pct', 'data-pct')),
      Math.round(parts.reduce((x, y) => x + y, 0) / parts.length),
      `overall is the mean of ${JSON.stringify(parts)}`,
    );
    const stored = (await h.api<{ nodes: Array<{ name: string; phase: string }> }>('GET', `/v1/upgrades/${rolloutId}`))
      .body;
    assert.ok(
      stored.nodes.some((n) => n.name === 'web-1' && n.phase !== 'pending'),
      JSON.stringify(stored),
    );
    assert.equal(await page.evaluate('window.atollMarker'), 43, 'the page was not reloaded');
    await page.screenshot({ path: join(SHOTS, 'upgrades.png'), fullPage: true });
    // ... and on to the end, still live: done, 100 %, the node on the new version.
    await page.waitForSelector('#rollout[data-state="done"] tr[data-node="web-1"][data-phase="done"]', {
      timeout: 90_000,
    });
    assert.equal(await page.getAttribute('#rollout-overall .pct', 'data-pct'), '100');
    assert.equal((await h.api<{ k3s: { version: string } }>('GET', `/v1/nodes/${id}`)).body.k3s.version, next);
    assert.equal(await page.evaluate('window.atollMarker'), 43, 'the page was not reloaded');
    await page.screenshot({ path: join(SHOTS, 'upgrades-done.png'), fullPage: true });

    // Pools: the default pool's autoheal settings, edited and saved; the upgrade settings are shown.
    await page.goto(`${h.apiUrl}/#/pools`);
    await page.waitForSelector('tr[data-pool="default"] .autoheal:has-text("restart 5m")');
    await page.waitForSelector('#auto-upgrade:has-text("Auto-upgrade off")');
    // The upgrade settings: automatic rollouts two at a time with a 5m dwell, saved through the API.
    await page.fill('#policy-max-unavailable', '2');
    await page.fill('#policy-dwell', '5m');
    await page.click('#save-policy');
    await page.waitForSelector('#auto-rollout:has-text("2 node(s) at a time, healthy for 5m")', { timeout: 30_000 });
    const policy = (
      await h.api<{ enabled: boolean; rollout: { maxUnavailable?: number; dwell?: string } }>(
        'GET',
        '/v1/cluster/auto-upgrade',
      )
    ).body;
    assert.deepEqual([policy.enabled, policy.rollout.maxUnavailable, policy.rollout.dwell], [false, 2, '5m']);
    await page.click('tr[data-pool="default"] button[data-action="edit-pool"]');
    await page.fill('#edit-after-restart', '7m');
    await page.fill('#edit-cap', '50');
    await page.waitForSelector('tr[data-pool="default"] .max-node-age:has-text("off")');
    await page.fill('#edit-max-node-age', '30d');
    await page.click('#save-pool');
    await page.waitForSelector('tr[data-pool="default"] .autoheal:has-text("restart 7m")', { timeout: 30_000 });
    await page.waitForSelector('tr[data-pool="default"] .max-node-age:has-text("30d")');
    const savedPool = (
      await h.api<{ maxNodeAge: string | null; autoheal: { afterRestart: string; maxUnhealthyPercent: number } }>(
        'GET',
        '/v1/pools/default',
      )
    ).body;
    const saved = savedPool.autoheal;
    assert.deepEqual([saved.afterRestart, saved.maxUnhealthyPercent, savedPool.maxNodeAge], ['7m', 50, '30d']);
    await page.click('tr[data-pool="default"] button[data-action="edit-pool"]');
    await page.fill('#edit-after-restart', '1h');
    await page.click('#save-pool');
    await page.waitForSelector('#pool-edit-error:has-text("afterRestart <= afterReboot")', { timeout: 30_000 });
    await page.screenshot({ path: join(SHOTS, 'pools.png'), fullPage: true });

    for (const name of ['cluster']) {
      await page.goto(`${h.apiUrl}/#/${name}`);
      await page.waitForSelector(`#main[data-page="${name}"] .card`);
      await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
    }
    assert.deepEqual(pageErrors, []);

    // A read-only token: the same node table, no action buttons, no token form.
    const ro = await h.api<{ token: string }>('POST', '/v1/api-tokens', { role: 'read-only' });
    const roPage = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
    await login(roPage, h, ro.body.token);
    await roPage.goto(`${h.apiUrl}/#/nodes`);
    await roPage.waitForSelector('tr[data-node="web-1"]');
    assert.equal(await roPage.locator('button[data-action]').count(), 0);
    await roPage.goto(`${h.apiUrl}/#/tokens`);
    await roPage.waitForSelector('#main[data-page="tokens"] #tokens-table');
    assert.equal(await roPage.locator('#create-token').count(), 0);
    await roPage.screenshot({ path: join(SHOTS, 'nodes-read-only.png'), fullPage: true });
    // ... and no upgrade form, no cancel, no pool or policy editing; the node page still shows.
    await roPage.goto(`${h.apiUrl}/#/upgrades`);
    await roPage.waitForSelector('#rollout tr[data-node="web-1"]');
    assert.equal(await roPage.locator('#start-upgrade, #cancel-rollout').count(), 0);
    await roPage.goto(`${h.apiUrl}/#/pools`);
    await roPage.waitForSelector('#auto-upgrade');
    assert.equal(await roPage.locator('button[data-action="edit-pool"], #save-policy').count(), 0);
    await roPage.goto(`${h.apiUrl}/#/node/${id}`);
    await roPage.waitForSelector('#health-chart circle');
    assert.equal(await roPage.locator('#main button[data-action]').count(), 0);
  },
);
