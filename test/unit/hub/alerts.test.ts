// The alert service over a real SQLite store with fake sources and a fake clock: first-seen times
// hold across evaluations, raises and resolves are heard once, a failing source keeps its alerts,
// worst first; and the sources' own rules (certificates of the hub, version support, nodes, caps).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openSqliteStore } from '../../../hub/store/index.js';
import { createLogger } from '../../../hub/logger.js';
import { AlertService, type AlertChange } from '../../../hub/alerts/alert-service.js';
import type { AlertInput, AlertSource } from '../../../hub/alerts/alert-source.js';
import { certificateSource, versionSource } from '../../../hub/alerts/expiry-sources.js';
import { nodeSource, controlPlaneSource } from '../../../hub/alerts/state-sources.js';
import { createCa } from '../../../certs/ca.js';
import type { NodeSnapshot } from '../../../hub/nodes/registry.js';
import { tempDir } from '../store/helpers.js';

const logger = createLogger('silent');

test('alerts: since holds while active, raised and resolved once, a failing source keeps its alerts, worst first', async (t) => {
  const store = await openSqliteStore({ path: join(tempDir(t), 'hub.db') });
  t.after(() => store.close());
  let now = Date.parse('2026-03-01T10:00:00Z');
  let nodes: AlertInput[] = [{ id: 'node-unreachable:a', severity: 'critical', message: 'a down', link: '#/node/a' }];
  let broken = false;
  const sources: AlertSource[] = [
    { name: 'nodes', collect: () => nodes },
    {
      name: 'flaky',
      collect: () => {
        if (broken) throw new Error('store unavailable');
        return [{ id: 'autoheal-frozen', severity: 'warning', message: 'frozen', link: '#/pools' }];
      },
    },
  ];
  const alerts = new AlertService({ store, sources, logger, now: () => now, intervalMs: 60_000, freshMs: 0 });
  const heard: AlertChange[] = [];
  alerts.onChange((c) => heard.push(c));

  const first = await alerts.list();
  assert.deepEqual(
    first.map((a) => [a.id, a.severity, a.since]),
    [
      ['node-unreachable:a', 'critical', '2026-03-01T10:00:00.000Z'],
      ['autoheal-frozen', 'warning', '2026-03-01T10:00:00.000Z'],
    ],
  );
  assert.deepEqual(
    heard.map((c) => [c.state, c.alert.id]),
    [
      ['raised', 'node-unreachable:a'],
      ['raised', 'autoheal-frozen'],
    ],
  );

  // Later: b joins the problems; the flaky source fails (its alert stays); a's since does not move.
  now += 60_000;
  nodes = [...nodes, { id: 'node-unreachable:b', severity: 'critical', message: 'b down', link: '#/node/b' }];
  broken = true;
  const second = await alerts.list();
  assert.deepEqual(
    second.map((a) => [a.id, a.since]),
    [
      ['node-unreachable:a', '2026-03-01T10:00:00.000Z'],
      ['node-unreachable:b', '2026-03-01T10:01:00.000Z'],
      ['autoheal-frozen', '2026-03-01T10:00:00.000Z'],
    ],
  );
  assert.deepEqual(
    heard.slice(2).map((c) => [c.state, c.alert.id]),
    [['raised', 'node-unreachable:b']],
  );

  // a comes back: resolved, heard once.
  now += 60_000;
  nodes = nodes.slice(1);
  await alerts.list();
  await alerts.list();
  assert.deepEqual(
    heard.slice(3).map((c) => [c.state, c.alert.id, c.alert.since]),
    [['resolved', 'node-unreachable:a', '2026-03-01T10:00:00.000Z']],
  );
  assert.deepEqual(
    alerts.counts().sort((x, y) => x.kind.localeCompare(y.kind)),
    [
      { kind: 'autoheal-frozen', severity: 'warning', count: 1 },
      { kind: 'node-unreachable', severity: 'critical', count: 1 },
    ],
  );
});

test('certificates: the hub CA and serving certificate within 7 days, node certificates within the warning window', async () => {
  const now = Date.now();
  const soon = await createCa({ commonName: 'short', validityDays: 3 });
  const fine = await createCa({ commonName: 'long', validityDays: 365 });
  const src = certificateSource({
    store: {
      listExpiringCerts: async (before: string) =>
        [
          { nodeId: 'n1', serial: 's1', notAfter: new Date(now + 3_600_000).toISOString() },
          { nodeId: 'gone', serial: 's2', notAfter: new Date(now + 3_600_000).toISOString() },
        ].filter((c) => c.notAfter < before),
    },
    nodeOf: (id) => (id === 'n1' ? { name: 'web-1', pool: 'web' } : undefined),
    caPem: soon.certPem,
    servingPem: fine.certPem,
    nodeWithinMs: 7 * 86_400_000,
  });
  const list = await src.collect(now);
  assert.deepEqual(
    list.map((a) => [a.id, a.severity, a.link]),
    [
      ['cert-expiring:ca', 'warning', '#/cluster'],
      ['cert-expiring:node:n1', 'critical', '#/node/n1'],
    ],
  );
  assert.match(list[0].message, /^the hub CA expires in [23]d .*plan its rotation/);
  assert.match(
    list[1].message,
    /^client certificate of node web-1 \(pool web\) expires in 60m and has not been renewed$/,
  );
  // A week later the CA has expired: critical.
  const later = await src.collect(now + 8 * 86_400_000);
  assert.deepEqual(later[0].severity, 'critical');
  assert.match(later[0].message, /^the hub CA expired .* ago/);
});

test('versions, nodes and the control plane: what is a problem, and long lists folded', () => {
  const v = versionSource({
    controlPlane: () => ({
      version: 'v1.31.4+k3s1',
      support: {
        status: 'end-of-life',
        minor: '1.31',
        released: '2024-08-13',
        endOfMaintenance: '2025-08-28',
        endOfLife: '2025-10-28',
        daysLeft: -3,
      },
    }),
    nodeGroups: () => [
      { minor: '1.31', status: 'end-of-life', count: 2, endOfLife: '2025-10-28', daysLeft: -3 },
      { minor: '1.32', status: 'deprecated', count: 1, endOfLife: '2026-02-28', daysLeft: 20 },
      { minor: '1.33', status: 'supported', count: 5, endOfLife: '2026-06-28', daysLeft: 140 },
    ],
  });
  assert.deepEqual(
    (v.collect(0) as AlertInput[]).map((a) => [a.id, a.severity]),
    [
      ['version-support:control-plane', 'critical'],
      ['version-support:nodes:1.31', 'critical'],
      ['version-support:nodes:1.32', 'warning'],
    ],
  );
  const snap = (i: number, state: string): NodeSnapshot =>
    ({ id: `n${i}`, name: `node-${i}`, pool: 'p', state, reasons: ['disk full'] }) as unknown as NodeSnapshot;
  const many = [...Array.from({ length: 130 }, (_, i) => snap(i, 'unreachable')), snap(999, 'needs-attention')];
  const list = nodeSource(() => many).collect(0) as AlertInput[];
  assert.equal(list.filter((a) => a.id.startsWith('node-unreachable:')).length, 101);
  assert.deepEqual(list.find((a) => a.id === 'node-unreachable:more')?.message, 'and 30 more unreachable nodes');
  assert.equal(list.at(-1)?.message, 'node node-999 (pool p) needs attention: disk full');
  const cp = (state: string, since: string) =>
    controlPlaneSource(() => ({ state, since, message: 'x', version: null }) as never).collect(
      Date.parse('2026-01-01T00:10:00Z'),
    ) as AlertInput[];
  assert.equal(cp('failed', '2026-01-01T00:09:00Z')[0].severity, 'critical');
  assert.deepEqual(cp('starting', '2026-01-01T00:09:00Z'), [], 'starting for a minute is no problem');
  assert.equal(cp('starting', '2026-01-01T00:00:00Z')[0].severity, 'warning');
  assert.deepEqual(cp('running', '2026-01-01T00:00:00Z'), []);
});

test('a change (an event recorded) makes the next read evaluate again: no cached result, and no pass from before it', async (t) => {
  const store = await openSqliteStore({ path: join(tempDir(t), 'hub.db') });
  t.after(() => store.close());
  const now = Date.parse('2026-03-01T10:00:00Z');
  let rollouts: AlertInput[] = [
    { id: 'rollout-halted:r1', severity: 'warning', message: 'halted', link: '#/upgrades' },
  ];
  let release: (() => void) | undefined;
  const sources: AlertSource[] = [
    {
      name: 'rollouts',
      collect: async () => {
        const seen = rollouts;
        if (release === undefined) await new Promise<void>((r) => (release = r));
        return seen;
      },
    },
  ];
  // A result stays fresh for a minute: only a change may make a read evaluate again.
  const alerts = new AlertService({ store, sources, logger, now: () => now, intervalMs: 60_000, freshMs: 60_000 });
  const slow = alerts.list(); // a pass that read the halted rollout, still running
  await new Promise((r) => setImmediate(r));
  rollouts = []; // the operator dismisses it; the dismissal is recorded as an event
  alerts.changed();
  const after = alerts.list();
  release?.();
  assert.deepEqual(
    (await slow).map((a) => a.id),
    ['rollout-halted:r1'],
    'the old pass answers its own readers',
  );
  assert.deepEqual(await after, [], 'a read after the change does not get the pass from before it');
  assert.deepEqual(await alerts.list(), [], 'and the fresh result is served from then on');
});
