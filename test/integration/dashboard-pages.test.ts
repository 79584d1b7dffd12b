// Every page of the dashboard in headless Chromium (playwright-core with Debian's chromium) against a
// real hub (k3s stand-in control plane) and real agents (test/helpers/dashboard.ts): the login page
// says where the admin token is; the overview of a healthy cluster (tiles, no problems, the version);
// the nodes page searches, filters, sorts and offers only the actions that apply; the node page has
// its actions, conditions, taints and paged events; an unreachable node's figures are greyed out;
// tokens and events are paged with readable times. Screenshots: test-output/screenshots/.
// (Problems and halted rollouts: dashboard-problems.test.ts.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor, type AgentHandle } from '../helpers/processes.js';
import {
  count,
  shot,
  startDashboardCluster,
  stopDashboardCluster,
  SKIP_NO_CHROMIUM as SKIP,
  V0,
  type DashboardCluster,
} from '../helpers/dashboard.js';

const track: Partial<DashboardCluster> & { agentList: AgentHandle[] } = { agentList: [] };
let c: DashboardCluster;

before(
  async () => {
    if (!SKIP) c = await startDashboardCluster(track);
  },
  { timeout: 120_000 },
);
after(() => stopDashboardCluster(track));

test(
  'login: a wrong token is refused and the page says where the admin token is; then the overview of a healthy cluster',
  { skip: SKIP },
  async () => {
    const { hub: h, page } = c;
    // Login: where the admin token is, and a wrong token is said so.
    await page.goto(`${h.apiUrl}/`);
    await page.waitForSelector('#login-help');
    const help = (await page.textContent('#login-help')) ?? '';
    assert.match(help, /admin-token/);
    assert.match(help, /sudo cat \/var\/lib\/atoll\/admin-token/);
    assert.match(help, /api-token create --role read-only/);
    await page.fill('#login-token', 'not-a-token');
    await page.click('#login button[type=submit]');
    await page.waitForSelector('#login-error:not(:empty)');
    await shot(page, 'login');
    await page.fill('#login-token', h.adminToken());
    await page.click('#login button[type=submit]');
    await page.waitForSelector('#nav:not([hidden])');

    // Overview, all well: it is the first page; tiles count nodes by state; no problems; the version.
    await page.waitForSelector('#main[data-page="cluster"] #node-tiles');
    assert.equal(await page.textContent('[data-tile="total"] .tile-n'), '3');
    assert.equal(await page.textContent('[data-tile="ready"] .tile-n'), '3');
    assert.equal(await page.textContent('[data-tile="unreachable"] .tile-n'), '0');
    await page.waitForSelector('#no-problems');
    assert.equal(await page.textContent('#k3s-version'), V0);
    await shot(page, 'overview-healthy');
  },
);

test(
  'nodes: search, pool and state filters, sort, only the actions that apply; the node page: actions, conditions, taints, events',
  { skip: SKIP },
  async () => {
    const { hub: h, page } = c;
    // Nodes: search, pool and state filters (kept in the address), sort, only the actions that apply.
    await page.click('#nav a[data-page="nodes"]');
    await page.waitForSelector('tr[data-node="gpu-0"]');
    const names = async (): Promise<string[]> =>
      page.locator('#nodes-table tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-node') ?? ''));
    assert.deepEqual(await names(), ['gpu-0', 'web-0', 'web-1']);
    await page.fill('#node-search', 'ovh');
    await count(page, '#nodes-table tbody tr', 1);
    assert.deepEqual(await names(), ['gpu-0']);
    await page.fill('#node-search', '');
    await page.selectOption('#node-pool', 'default');
    await count(page, '#nodes-table tbody tr', 2);
    assert.match(page.url(), /#\/nodes\?pool=default$/);
    await page.click('th[data-sort="name"]');
    assert.deepEqual(await names(), ['web-1', 'web-0']);
    await page.selectOption('#node-pool', '');
    await page.selectOption('#node-state', 'cordoned');
    await page.waitForSelector('#no-match');
    await page.selectOption('#node-state', '');
    // A Kubernetes node offers cordon (not uncordon); a node without k3s offers neither.
    assert.equal(await page.locator('tr[data-node="web-0"] button[data-action="cordon"]').count(), 1);
    assert.equal(await page.locator('tr[data-node="web-0"] button[data-action="uncordon"]').count(), 0);
    assert.equal(
      await page
        .locator(
          'tr[data-node="gpu-0"] button[data-action="cordon"], tr[data-node="gpu-0"] button[data-action="uncordon"]',
        )
        .count(),
      0,
    );
    await page.click('tr[data-node="web-0"] button[data-action="cordon"]');
    await page.waitForSelector('tr[data-node="web-0"] button[data-action="uncordon"]', { timeout: 20_000 });
    assert.equal(await page.locator('tr[data-node="web-0"] button[data-action="cordon"]').count(), 0);
    await page.waitForSelector('tr[data-node="web-0"] .state[data-state="cordoned"]', { timeout: 20_000 });
    // The rest are in a menu, which stays open while the table redraws (every 5 s).
    await page.click('details[data-more="web-1"] > summary');
    await page.waitForSelector('details[data-more="web-1"][open] button[data-action="reboot"]');
    await page.evaluate('document.querySelector(\'tr[data-node="web-1"]\').dataset.marker = "old"');
    await count(page, 'tr[data-node="web-1"][data-marker="old"]', 0, 10_000);
    assert.equal(await page.locator('details[data-more="web-1"][open]').count(), 1, 'still open after a redraw');
    await shot(page, 'nodes');
    await page.click('details[data-more="web-1"] > summary');

    // The node page: actions (uncordon now), conditions, taints, paged events with readable times.
    await page.click('tr[data-node="web-0"] a.node-link');
    await page.waitForSelector('#node-info #node-actions button[data-action="uncordon"]');
    assert.equal(await page.getAttribute('#node-conditions tr[data-condition="Ready"]', 'data-status'), 'ok');
    assert.equal(await page.getAttribute('#node-conditions tr[data-condition="Schedulable"]', 'data-status'), 'bad');
    assert.equal(await page.getAttribute('#node-conditions tr[data-condition="Agent connected"]', 'data-status'), 'ok');
    await page.waitForSelector('#node-taints');
    await page.waitForSelector('#node-events tr[data-type="admin.action"]:has-text("cordon on web-0")');
    assert.match((await page.textContent('#node-events tr[data-type="admin.action"] time')) ?? '', /ago|just now/);
    await page.waitForSelector('#health-chart circle', { timeout: 30_000 });
    await shot(page, 'node');
    await page.click('#node-actions button[data-action="uncordon"]');
    await page.waitForSelector('#node-actions button[data-action="cordon"]', { timeout: 20_000 });
    await waitFor(
      'web-0 ready again',
      async () => (await h.api<{ state: string }>('GET', `/v1/nodes/${c.ids.get('web-0')!}`)).body.state === 'ready',
      20_000,
    );
  },
);

test(
  'an unreachable node: its last figures greyed out, the node page says they are stale',
  { skip: SKIP },
  async () => {
    const { hub: h, page } = c;
    // gpu-0 goes away: unreachable, its last figures greyed out, no action that needs its agent.
    await c.agents['gpu-0'].proc.kill('SIGKILL');
    await page.goto(`${h.apiUrl}/#/nodes`);
    await page.waitForSelector('tr[data-node="gpu-0"].stale-row .state[data-state="unreachable"]', { timeout: 20_000 });
    assert.equal(
      await page.locator('tr[data-node="gpu-0"] td.stale .bar > span.stale').count(),
      3,
      'cpu, memory and disk greyed out',
    );
    assert.equal(await page.locator('tr[data-node="web-1"] td.stale').count(), 0);
    assert.equal(
      await page.locator('tr[data-node="gpu-0"] button[data-action="reboot"]').count(),
      0,
      'no reboot for a node that cannot hear it',
    );
    await shot(page, 'nodes-unreachable');
    await page.click('tr[data-node="gpu-0"] a.node-link');
    await page.waitForSelector('#stale-notice');
    assert.equal(
      await page.getAttribute('#node-conditions tr[data-condition="Agent connected"]', 'data-status'),
      'bad',
    );
    await shot(page, 'node-unreachable');
  },
);

test('tokens: live ones paged with readable expiry, the others on request, revoke', { skip: SKIP }, async () => {
  const { hub: h, page } = c;
  // Tokens: live ones only unless asked, 25 a page, readable expiry, revoke.
  for (let i = 0; i < 27; i++)
    assert.equal((await h.api('POST', '/v1/tokens', { ttl: `${i + 2}h`, description: `batch ${i}` })).status, 201);
  await h.api('POST', '/v1/tokens', { ttl: '1s', description: 'short-lived' });
  await page.goto(`${h.apiUrl}/#/tokens`);
  await page.waitForSelector('#tokens-table tbody tr');
  assert.equal(await page.locator('#tokens-table tbody tr').count(), 25);
  assert.equal(
    await page.locator('#tokens-table tr[data-status="used-up"], #tokens-table tr[data-status="expired"]').count(),
    0,
  );
  const live = (await h.api<{ items: Array<{ status: string }> }>('GET', '/v1/tokens')).body.items.filter(
    (t) => t.status === 'active',
  ).length;
  assert.ok(live > 25);
  assert.match(
    (await page.textContent('#tokens-pager .pager-where')) ?? '',
    new RegExp(`^1–25 of (${live}|${live + 1})$`),
    'the short-lived one may have expired in between',
  );
  assert.match((await page.textContent('#tokens-table tr:has-text("batch 26") td.expires')) ?? '', /^in 28h · /);
  await page.click('#tokens-pager .pager-next');
  await page.waitForSelector('#tokens-pager .pager-next[disabled]');
  // Ticked: the expired one (the newest) on the first page, the used-up join tokens (the oldest) on the last.
  await waitFor(
    'the short-lived token expired',
    async () =>
      (
        await h.api<{ items: Array<{ description: string; status: string }> }>('GET', '/v1/tokens?all=true')
      ).body.items.some((t) => t.description === 'short-lived' && t.status === 'expired'),
    10_000,
  );
  await page.check('#token-all');
  await page.waitForSelector('#tokens-table tr[data-status="expired"]:has-text("short-lived")');
  await page.click('#tokens-pager .pager-next');
  await page.waitForSelector('#tokens-table tr[data-status="used-up"]');
  await page.uncheck('#token-all');
  await count(page, '#tokens-table tbody tr', 25);
  const victim = await page.getAttribute('#tokens-table tbody tr', 'data-token');
  await page.click(`#tokens-table tr[data-token="${victim}"] button[data-revoke]`);
  await page.waitForSelector('#toast:has-text("revoked")');
  await count(page, `#tokens-table tr[data-token="${victim}"]`, 0);
  await shot(page, 'tokens');

  // The remaining pages render without errors.
  await page.goto(`${h.apiUrl}/#/pools`);
  await page.waitForSelector('tr[data-pool="gpu"]');
  await shot(page, 'pools');
  await page.goto(`${h.apiUrl}/#/upgrades`);
  await page.waitForSelector('#rollouts');
});

test(
  'events: newest first, 50 a page, older and newer, filtered, readable times; no script error on any page',
  { skip: SKIP },
  async () => {
    const { hub: h, page } = c;
    // Events: newest first, 50 a page, older and newer pages, a filter; readable times.
    await page.goto(`${h.apiUrl}/#/events`);
    await page.waitForSelector('#events-table tbody tr');
    const ids = async (): Promise<number[]> =>
      page.locator('#events-table tbody tr').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-id'))));
    const first = await ids();
    assert.equal(first.length, 50);
    assert.deepEqual(
      first,
      [...first].sort((a, b) => b - a),
      'newest first',
    );
    await page.click('#events-table-pager .pager-next');
    const older = await waitFor('the older page', async () => {
      const now = await ids();
      return now.length && now[0] < first.at(-1)! + 1 ? now : undefined;
    });
    assert.ok(older[0] < first.at(-1)!, 'the older page starts below the newest page');
    assert.match((await page.textContent('#events-table-pager .pager-where')) ?? '', /^51–/);
    await page.click('#events-table-pager .pager-prev');
    await page.waitForSelector('#events-table-pager .pager-prev[disabled]');
    await page.fill('#event-type', 'admin.action');
    await page.click('#event-filter button[type=submit]');
    await count(page, '#events-table tbody tr:not([data-type="admin.action"])', 0);
    assert.match(page.url(), /#\/events\?type=admin\.action$/);
    assert.match(
      (await page.textContent('#events-table tbody tr time')) ?? '',
      /\d\d:\d\d:\d\d · (\d+[smh] ago|just now)/,
    );
    await page.fill('#event-type', '');
    await page.click('#event-filter button[type=submit]');
    await count(page, '#events-table tbody tr', 50);
    await shot(page, 'events');
    assert.deepEqual(c.pageErrors, []);
  },
);
