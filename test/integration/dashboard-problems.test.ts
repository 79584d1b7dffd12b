// The overview's active problems and halted rollouts in the dashboard, in headless Chromium against
// a real hub and agents (test/helpers/dashboard.ts): with gpu-0 gone (unreachable, its short-lived
// certificate not renewed) and a rollout halted by a broken k3s, the overview lists all three with
// links; from the upgrades page the rollout is dismissed (off the problems), retried once the
// artifact is fixed (done everywhere), and a second one resumed (the failed node stays failed).
// Screenshots: test-output/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { waitFor, type AgentHandle, type HubHandle } from '../helpers/processes.js';
import { buildStandin, importK3s, type RolloutView as Rollout } from '../helpers/upgrade-cluster.js';
import {
  shot,
  startDashboardCluster,
  stopDashboardCluster,
  login,
  SKIP_NO_CHROMIUM as SKIP,
  type DashboardCluster,
} from '../helpers/dashboard.js';

const V1 = 'v1.31.5+k3s1';
const V2 = 'v1.31.6+k3s1';
const ARCH = process.arch === 'arm64' ? 'arm64' : 'amd64';
type RolloutView = Rollout & { dismissedAt?: string | null };
const rollout = async (h: HubHandle, id: string): Promise<RolloutView> =>
  (await h.api<RolloutView>('GET', `/v1/upgrades/${id}`)).body;

const track: Partial<DashboardCluster> & { agentList: AgentHandle[] } = { agentList: [] };
let c: DashboardCluster;
let rid = '';

before(
  async () => {
    if (SKIP) return;
    // Node certificates of 45 s (agents renew at 30 s; the last quarter, 11 s, is "near expiry"):
    // gpu-0, gone from the start, has one near expiry within 34 s.
    c = await startDashboardCluster(track, ['--node-cert-ttl', '45s']);
    await c.agents['gpu-0'].proc.kill('SIGKILL');
    await login(c.page, c.hub);
  },
  { timeout: 120_000 },
);
after(() => stopDashboardCluster(track));

test(
  'the overview lists a halted rollout, an unreachable node and a certificate near expiry, each with a link',
  { skip: SKIP },
  async () => {
    const { hub: h, page } = c;
    // A halted rollout: a broken k3s on web-0 is rolled back and halts the rollout.
    buildStandin(join(c.work, 'k3s-v1'), V1, true);
    await importK3s(h, V1, join(c.work, 'k3s-v1'), ARCH);
    // With 45 s certificates the web nodes renew (and reconnect) every 30 s: start once the pool is
    // healthy (a node in the middle of that is briefly not), bounded.
    const start = await waitFor(
      'the rollout accepted',
      async () => {
        const r = await h.api<RolloutView>('POST', '/v1/upgrades', {
          version: V1,
          window: 'now',
          dwell: '1s',
          verifyTimeout: '5s',
          controlPlane: false,
          pools: ['default'],
        });
        return r.status === 409 && JSON.stringify(r.body).includes('POOL_OVER_AUTOHEAL_CAP') ? undefined : r;
      },
      60_000,
      1_000,
    );
    assert.equal(start.status, 201, JSON.stringify(start.body));
    rid = start.body.id;
    await waitFor('rollout halted', async () => (await rollout(h, rid)).state === 'halted', 90_000);

    // The overview lists the problems, with links: the halted rollout, the unreachable node, and
    // (within the last quarter of its 45 s) gpu-0's certificate.
    await page.goto(`${h.apiUrl}/#/cluster`);
    await page.waitForSelector('#problems li[data-kind="rollout"]');
    await page.waitForSelector('#problems li[data-kind="unreachable"]');
    assert.equal(await page.getAttribute('#problems li[data-kind="rollout"] a', 'href'), `#/upgrades/${rid}`);
    assert.equal(
      await page.getAttribute('#problems li[data-kind="unreachable"] a', 'href'),
      `#/node/${c.ids.get('gpu-0')!}`,
    );
    assert.equal(await page.textContent('[data-tile="unreachable"] .tile-n'), '1');
    await page.waitForSelector('#problems li[data-kind="certificate"]:has-text("gpu-0")', { timeout: 90_000 });
    assert.equal(
      await page.getAttribute('#problems li[data-kind="certificate"] a', 'href'),
      `#/node/${c.ids.get('gpu-0')!}`,
    );
    await shot(page, 'overview-problems');
  },
);

test(
  'a halted rollout from the upgrades page: dismiss, then retry once fixed, and resume another',
  { skip: SKIP },
  async () => {
    const { hub: h, page } = c;
    // Upgrades: the halted rollout offers retry, resume and dismiss. Dismiss takes it off the problems.
    await page.click('#problems li[data-kind="rollout"] a');
    await page.waitForSelector(`#rollout[data-rollout="${rid}"][data-state="halted"] #rollout-actions`);
    assert.equal(await page.locator('#retry-rollout, #resume-rollout, #dismiss-rollout').count(), 3);
    assert.equal(await page.locator('#cancel-rollout').count(), 0);
    assert.match((await page.textContent('#retry-rollout')) ?? '', /Retry web-0/);
    await shot(page, 'upgrades-halted');
    await page.click('#dismiss-rollout');
    await page.waitForSelector('#rollout-dismissed');
    assert.ok((await rollout(h, rid)).dismissedAt);
    await page.goto(`${h.apiUrl}/#/cluster`);
    await page.waitForSelector('#problems li[data-kind="unreachable"]');
    assert.equal(await page.locator('#problems li[data-kind="rollout"]').count(), 0);

    // Retry, once the artifact is fixed: web-0 starts over and the rollout finishes on both nodes.
    buildStandin(join(c.work, 'k3s-v1-good'), V1);
    await importK3s(h, V1, join(c.work, 'k3s-v1-good'), ARCH, { force: true }); // replaces the broken import
    await page.goto(`${h.apiUrl}/#/upgrades/${rid}`);
    await page.click('#retry-rollout');
    await page.waitForSelector(`#rollout[data-rollout="${rid}"][data-state="done"]`, { timeout: 120_000 });
    const retried = await rollout(h, rid);
    assert.deepEqual(
      retried.nodes.map((n) => [n.name, n.phase]),
      [
        ['web-0', 'done'],
        ['web-1', 'done'],
      ],
    );
    assert.equal(retried.dismissedAt, null);
    await shot(page, 'upgrades-retried');

    // Resume: a second broken version halts on web-0; resume goes on with web-1 (web-0 stays failed).
    buildStandin(join(c.work, 'k3s-v2'), V2, true);
    await importK3s(h, V2, join(c.work, 'k3s-v2'), ARCH);
    const second = (
      await h.api<RolloutView>('POST', '/v1/upgrades', {
        version: V2,
        window: 'now',
        dwell: '1s',
        verifyTimeout: '5s',
        controlPlane: false,
        pools: ['default'],
      })
    ).body;
    await page.goto(`${h.apiUrl}/#/upgrades/${second.id}`);
    await page.waitForSelector(`#rollout[data-rollout="${second.id}"][data-state="halted"] #resume-rollout`, {
      timeout: 90_000,
    });
    await page.click('#resume-rollout');
    await page.waitForSelector(
      `#rollout[data-rollout="${second.id}"] tr[data-node="web-1"]:not([data-phase="pending"])`,
      { timeout: 30_000 },
    );
    const resumed = await waitFor(
      'second rollout halted again',
      async () => {
        const r = (await h.api<RolloutView>('GET', `/v1/upgrades/${second.id}`)).body;
        return r.state === 'halted' && r.nodes[1].phase === 'upgrade-failed' ? r : undefined;
      },
      90_000,
    );
    assert.equal(resumed.nodes[0].phase, 'upgrade-failed', 'resume does not retry the failed node');
    await page.waitForSelector(
      `#rollout[data-rollout="${second.id}"][data-state="halted"] #retry-rollout:has-text("web-0, web-1")`,
    );
    await shot(page, 'upgrades-resumed');
    const audit = (
      await h.api<{ items: Array<{ type: string; actor: string }> }>('GET', '/v1/events?limit=1000&before=999999999')
    ).body.items;
    for (const type of ['upgrade.dismiss', 'upgrade.retry', 'upgrade.resume'])
      assert.ok(
        audit.some((e) => e.type === type && e.actor === 'admin'),
        `${type} recorded`,
      );
    assert.deepEqual(c.pageErrors, []);
  },
);
