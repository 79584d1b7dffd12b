// Version support through the real hub process, its k3s (the stand-in, v1.31.4) and a node (a
// puppet agent reporting v1.31.4): GET /v1/cluster and the node view carry the status and dates;
// `atoll-hub versions import FILE` changes them at once, with an audit event, notices and the
// days-left metric; a bad file is refused with every problem named and changes nothing; `versions
// reset` brings the bundled data back; the OpenAPI document describes all of it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startHub,
  waitFor,
  runCli,
  removeDir,
  removeTree,
  scrapeMetrics,
  HUB_BIN,
  type HubHandle,
} from '../helpers/processes.js';
import { freePort } from '../helpers/ports.js';
import { Puppet } from '../helpers/puppet.js';
import { BUNDLED_SUPPORT } from '../../hub/versions/support-data.js';
import { supportOf } from '../../hub/versions/support-status.js';
import { buildStandin } from '../helpers/k3s-standin.js';

interface Support {
  status: string;
  minor: string | null;
  endOfMaintenance: string | null;
  endOfLife: string | null;
  daysLeft: number | null;
}
interface Ev {
  id: number;
  type: string;
  actor: string;
  message: string;
  nodeId: string | null;
  data: Record<string, unknown>;
}

const DAY = 86_400_000;
const day = (offsetDays: number): string => new Date(Date.now() + offsetDays * DAY).toISOString().slice(0, 10);
let work: string;
let hub: HubHandle;
let puppet: Puppet | undefined;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'atoll-versions-'));
  const standin = join(work, 'k3s');
  buildStandin(standin);
  hub = await startHub({ k3s: standin, extraArgs: ['--k3s-https-port', String(await freePort())] });
  await waitFor(
    'control plane running',
    async () => (await hub.api<{ state: string }>('GET', '/v1/cluster')).body.state === 'running',
    30_000,
  );
  const tok = await hub.api<{ token: string }>('POST', '/v1/tokens', {});
  puppet = await Puppet.join(hub, tok.body.token, 'web-0');
});

after(async () => {
  puppet?.stop();
  await hub?.stop('SIGKILL');
  if (hub) removeDir(hub.dataDir);
  removeTree(work);
});

const cluster = async () =>
  (await hub.api<{ version: string; support: Support & { message: string } }>('GET', '/v1/cluster')).body;
const nodeSupport = async () =>
  (await hub.api<{ k3s: { version: string; support: Support | null } }>('GET', `/v1/nodes/${puppet!.id}`)).body.k3s;
const events = async (type: string) =>
  (await hub.api<{ items: Ev[] }>('GET', `/v1/events?type=${type}&limit=1000`)).body.items;
const cli = (...args: string[]) => runCli(HUB_BIN, [...args, '--data-dir', hub.dataDir]);

test('GET /v1/cluster and the node view show the k3s version with its support status and dates', async () => {
  const c = await cluster();
  assert.equal(c.version, 'v1.31.4+k3s1');
  // What the bundled data says today.
  const want = supportOf(BUNDLED_SUPPORT.minors, 'v1.31.4+k3s1', Date.now());
  assert.deepEqual(
    { status: c.support.status, endOfMaintenance: c.support.endOfMaintenance, endOfLife: c.support.endOfLife },
    { status: want.status, endOfMaintenance: '2025-08-28', endOfLife: '2025-10-28' },
  );
  assert.equal(c.support.daysLeft, want.daysLeft);
  const k3s = await waitFor('the node reports its k3s version', async () => {
    const v = await nodeSupport();
    return v.support ? v : undefined;
  });
  assert.equal(k3s.version, 'v1.31.4+k3s1');
  assert.equal(k3s.support?.status, want.status);
  assert.equal(k3s.support?.endOfLife, '2025-10-28');
});

test('versions import: status, notices, metric and alerts follow at once; a bad file changes nothing', async () => {
  // 1.31 with 30 days left: deprecated.
  const file = join(work, 'support.json');
  const doc = {
    source: 'vendor extended support',
    minors: [{ minor: '1.31', released: day(-400), endOfMaintenance: day(-30), endOfLife: day(30) }],
  };
  writeFileSync(file, JSON.stringify(doc));
  const before = (await events('version.support')).length;
  const r = await cli('versions', 'import', file);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /imported by admin at .* \(1 minors from vendor extended support\)/);
  assert.match(r.stdout, /^1\.31 +\S+ +\S+ +\S+ +deprecated +30$/m);

  const c = await cluster();
  assert.deepEqual([c.support.status, c.support.endOfLife, c.support.daysLeft], ['deprecated', day(30), 30]);
  assert.match(c.support.message, /reaches end of life on .* \(in 30 days\)/);
  assert.equal((await nodeSupport()).support?.status, 'deprecated');

  const imported = await events('versions.imported');
  assert.equal(imported.length, 1);
  assert.equal(imported[0].actor, 'admin');
  assert.deepEqual(imported[0].data.minors, ['1.31']);
  // The status changed for the control plane and the node: one notice each (the node's names it).
  const notices = await waitFor('two notices', async () => {
    const list = (await events('version.support')).slice(before);
    return list.length >= 2 ? list : undefined;
  });
  assert.deepEqual(notices.map((e) => [e.data.scope, e.data.to]).sort(), [
    ['control-plane', 'deprecated'],
    ['node', 'deprecated'],
  ]);
  assert.equal(notices.find((e) => e.data.scope === 'node')?.nodeId, puppet!.id);

  const metrics = (await scrapeMetrics(hub)).body;
  assert.match(metrics, /^atoll_k3s_version_support_days_left\{scope="control-plane"\} 30$/m);
  assert.match(metrics, /^atoll_k3s_version_support_days_left\{scope="node"\} 30$/m);
  // The next evaluation shows them (one already running when the import landed may answer first).
  const supportAlerts = async (): Promise<string[][]> =>
    (await hub!.api<{ items: Array<{ id: string; severity: string }> }>('GET', '/v1/alerts')).body.items
      .filter((a) => a.id.startsWith('version-support:'))
      .map((a) => [a.id, a.severity]);
  await waitFor('version alerts updated', async () => (await supportAlerts()).length === 2, 10_000).catch(
    () => undefined,
  );
  assert.deepEqual(await supportAlerts(), [
    ['version-support:control-plane', 'warning'],
    ['version-support:nodes:1.31', 'warning'],
  ]);

  // A bad file: dates out of order, a minor twice, a field misspelled. Refused with every problem,
  // exit 2, nothing sent: the import in force and the events stay as they were.
  const bad = join(work, 'bad.json');
  writeFileSync(
    bad,
    JSON.stringify({
      minors: [
        { minor: '1.31', released: day(-400), endOfMaintenance: day(40), endOfLife: day(30) },
        { minor: '1.31', released: day(-400), endOfMaintenance: day(10), endOfLife: day(30) },
        { minor: '1.32', released: day(-300), endOfMaintenance: day(60), endOfLfe: day(100) },
      ],
    }),
  );
  const refused = await cli('versions', 'import', bad);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /nothing imported/);
  assert.match(refused.stderr, /minors\[0\]: endOfLife .* must not be before endOfMaintenance/);
  assert.match(refused.stderr, /minors\[1\]: minor 1\.31 is listed twice/);
  assert.match(refused.stderr, /minors\[2\]: unknown field "endOfLfe"/);
  const notJson = join(work, 'not.json');
  writeFileSync(notJson, '{"minors": [');
  const broken = await cli('versions', 'import', notJson);
  assert.equal(broken.code, 2);
  assert.match(broken.stderr, /not\.json is not JSON/);
  // Straight at the API (past the CLI's own check): 400 VALIDATION, nothing changed.
  const api = await hub.api<{ error: { code: string; message: string } }>('PUT', '/v1/versions/support', {
    minors: [{ minor: 1.31, released: '2024-08-13', endOfMaintenance: '2025-08-28', endOfLife: '2025-10-28' }],
  });
  assert.equal(api.status, 400);
  assert.equal(api.body.error.code, 'VALIDATION');
  assert.match(api.body.error.message, /minor must be a string like "1.31" \(got 1.31\)/);
  assert.equal((await events('versions.imported')).length, 1);
  assert.equal((await cluster()).support.status, 'deprecated');
  const shown = await hub.api<{ imported: { source: string } | null }>('GET', '/v1/versions/support');
  assert.equal(shown.body.imported?.source, 'vendor extended support');

  // Reset: the bundled data again.
  const reset = await cli('versions', 'reset');
  assert.equal(reset.code, 0, reset.stderr);
  assert.match(reset.stdout, /^bundled data/);
  assert.equal((await cluster()).support.endOfLife, '2025-10-28');
  assert.equal((await events('versions.reset')).length, 1);
});

test('the OpenAPI document describes the support status, the version data routes and the alerts', async () => {
  const doc = (
    await hub.api<{ paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }>(
      'GET',
      '/openapi.json',
    )
  ).body;
  for (const [path, method] of [
    ['/v1/alerts', 'get'],
    ['/v1/versions/support', 'get'],
    ['/v1/versions/support', 'put'],
    ['/v1/versions/support', 'delete'],
  ])
    assert.ok(doc.paths[path]?.[method], `${method} ${path}`);
  const cluster200 = JSON.stringify(doc.paths['/v1/cluster'].get.responses['200']);
  for (const field of ['"support"', '"endOfMaintenance"', '"endOfLife"', '"daysLeft"', '"end-of-life"'])
    assert.ok(cluster200.includes(field), field);
  const node200 = JSON.stringify(doc.paths['/v1/nodes/{id}'].get.responses['200']);
  assert.ok(node200.includes('"support"') && node200.includes('"deprecated"'));
});
