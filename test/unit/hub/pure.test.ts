// Small pure pieces of the hub: durations, join tokens, the join rate limiter, k3s versions,
// health classification and autoheal's condition.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration } from '../../../hub/duration.js';
import { formatJoinToken, parseJoinToken } from '../../../certs/join-token.js';
import { createRateLimiter } from '../../../hub/gateway/rate-limit.js';
import { compareK3sVersions } from '../../../hub/versions/compare.js';
import { healthProblems } from '../../../hub/nodes/health-state.js';
import { classify } from '../../../hub/autoheal/engine.js';
import { parseVersionOutput } from '../../../hub/k3s/binary.js';
import { serverArgs } from '../../../hub/k3s/server-args.js';
import { parseHubConfig } from '../../../hub/config.js';
import { waitOf } from '../../../hub/api/wait-param.js';
import { HubError } from '../../../hub/errors.js';
import type { HealthRecord } from '../../../hub/store/types.js';
import type { NodeSnapshot } from '../../../hub/nodes/registry.js';

test('durations', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('10s'), 10_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.throws(() => parseDuration('10'), /needs a unit/);
  assert.throws(() => parseDuration('ten seconds'), /invalid duration/);
  assert.throws(() => parseDuration('0s'), /invalid duration/);
});

test('join tokens carry the CA pin and round-trip; malformed ones say why', () => {
  const t = { caPin: 'a'.repeat(64), id: 'abcd1234', secret: 'x'.repeat(32) };
  assert.deepEqual(parseJoinToken(` ${formatJoinToken(t)}\n`), t);
  assert.throws(() => parseJoinToken('K10abc::node:pw'), /should start with AT1/);
  assert.throws(() => parseJoinToken(`AT1${'a'.repeat(10)}::abcd1234.${'x'.repeat(32)}`), /CA hash length \(10/);
  assert.throws(() => parseJoinToken(`AT1${'a'.repeat(64)}::ABCD1234.${'x'.repeat(32)}`), /malformed/);
});

test('the join rate limiter allows a burst, then refills at its rate, per source', () => {
  let now = 0;
  const rl = createRateLimiter({ perMinute: 6, now: () => now });
  for (let i = 0; i < 6; i++) assert.equal(rl.take('a'), true);
  const wait = rl.take('a');
  assert.equal(typeof wait, 'number');
  assert.ok((wait as number) > 9_000 && (wait as number) <= 10_000);
  assert.equal(rl.take('b'), true, 'other sources are unaffected');
  now += 10_000;
  assert.equal(rl.take('a'), true);
});

test('k3s versions order like releases', () => {
  const sorted = ['v1.30.10+k3s1', 'v1.30.2+k3s1', 'v1.29.1-rc2+k3s1', 'v1.30.10+k3s2', 'v1.29.1+k3s1'].sort(
    compareK3sVersions,
  );
  assert.deepEqual(sorted, ['v1.29.1-rc2+k3s1', 'v1.29.1+k3s1', 'v1.30.2+k3s1', 'v1.30.10+k3s1', 'v1.30.10+k3s2']);
  assert.deepEqual(parseVersionOutput('k3s version v1.27.6+k3s1 (bd04941a)\ngo version go1.20.8\n'), {
    version: 'v1.27.6+k3s1',
    commit: 'bd04941a',
  });
  assert.equal(parseVersionOutput('k3s 1.27'), undefined);
});

test('server args: public names in the certificate, wireguard, advertise only a local address', () => {
  const local = serverArgs({
    dataDir: '/d',
    publicHost: '203.0.113.7',
    httpsPort: 6443,
    localAddresses: ['203.0.113.7'],
    extraArgs: ['--disable=traefik'],
  });
  assert.ok(local.includes('--tls-san') && local[local.indexOf('--tls-san') + 1] === '203.0.113.7');
  assert.ok(local.includes('--flannel-backend=wireguard-native') && local.includes('--flannel-external-ip'));
  assert.equal(local[local.indexOf('--advertise-address') + 1], '203.0.113.7');
  assert.equal(local.at(-1), '--disable=traefik');
  const natted = serverArgs({
    dataDir: '/d',
    publicHost: '203.0.113.7',
    httpsPort: 6443,
    localAddresses: ['10.0.0.4'],
    extraArgs: [],
  });
  assert.ok(!natted.includes('--advertise-address'), 'a NAT address is not advertised');
  assert.ok(natted.includes('--node-external-ip'));
});

test("server args: the hub's own node is tainted as a control plane unless schedulable or not a node", () => {
  const base = { dataDir: '/d', publicHost: 'hub.example', httpsPort: 6443, localAddresses: [] };
  const tainted = serverArgs({ ...base, extraArgs: [] });
  assert.equal(tainted[tainted.indexOf('--node-taint') + 1], 'node-role.kubernetes.io/control-plane:NoSchedule');
  assert.ok(
    !serverArgs({ ...base, extraArgs: [], schedulable: true }).includes('--node-taint'),
    '--control-plane-schedulable',
  );
  assert.ok(!serverArgs({ ...base, extraArgs: ['--disable-agent'] }).includes('--node-taint'), 'no node to taint');
});

function health(over: Partial<HealthRecord> = {}): HealthRecord {
  return {
    receivedAt: '',
    cpuPercent: 1,
    memoryTotalBytes: 100,
    memoryUsedBytes: 10,
    diskTotalBytes: 100,
    diskUsedBytes: 10,
    load1: 0,
    load5: 0,
    load15: 0,
    uptimeSeconds: 1,
    k3s: { state: 'running', version: '', kubeletHealthy: true, restarts: 0, lastLogLines: [] },
    clockSkewMs: 0,
    ...over,
  };
}

test('health problems: pressure, k3s, kubelet, clock skew; a node without k3s is fine', () => {
  assert.deepEqual(healthProblems(health()), []);
  assert.deepEqual(healthProblems(health({ diskUsedBytes: 95 })), ['disk-pressure']);
  assert.deepEqual(healthProblems(health({ memoryUsedBytes: 99 })), ['memory-pressure']);
  assert.deepEqual(
    healthProblems(
      health({ k3s: { state: 'crashed', version: '', kubeletHealthy: false, restarts: 3, lastLogLines: [] } }),
    ),
    ['k3s-crashed'],
  );
  assert.deepEqual(
    healthProblems(
      health({ k3s: { state: 'running', version: '', kubeletHealthy: false, restarts: 0, lastLogLines: [] } }),
    ),
    ['kubelet-unhealthy'],
  );
  assert.deepEqual(
    healthProblems(
      health({ k3s: { state: 'disabled', version: '', kubeletHealthy: false, restarts: 0, lastLogLines: [] } }),
    ),
    [],
  );
  assert.deepEqual(healthProblems(health({ clockSkewMs: -600_000 })), ['clock-skew']);
});

function snap(over: Partial<NodeSnapshot>): NodeSnapshot {
  return {
    id: 'n',
    name: 'n',
    pool: 'p',
    state: 'ready',
    reasons: [],
    connected: true,
    lastSeenMs: 0,
    disconnectedAt: 0,
    k3sState: 'running',
    ...over,
  };
}

test('autoheal conditions: degraded, unreachable, and a link problem when the kube Node is still Ready', () => {
  assert.equal(classify(snap({})), 'healthy');
  assert.equal(classify(snap({ state: 'degraded', reasons: ['k3s-crashed'] })), 'degraded');
  assert.equal(
    classify(snap({ state: 'remediating', reasons: ['k3s-crashed'] })),
    'degraded',
    'a workflow state does not hide the problem',
  );
  assert.equal(classify(snap({ connected: false, state: 'unreachable' })), 'unreachable');
  assert.equal(
    classify(
      snap({
        connected: false,
        state: 'unreachable',
        kube: { ready: true, unschedulable: false, kubeletVersion: '', taints: [], problems: [] },
      }),
    ),
    'link-problem',
  );
  assert.equal(
    classify(
      snap({
        connected: false,
        state: 'unreachable',
        kube: { ready: false, unschedulable: false, kubeletVersion: '', taints: [], problems: [] },
      }),
    ),
    'unreachable',
  );
});

test('--cluster-name: default atoll, env, and a clear error for a name kubectl users would trip on', () => {
  const base = { dataDir: '/tmp/x', publicUrl: 'https://hub.example:9444' };
  assert.equal(parseHubConfig(base, {}, false).clusterName, 'atoll');
  assert.equal(parseHubConfig(base, { ATOLL_CLUSTER_NAME: 'prod-eu' }, false).clusterName, 'prod-eu');
  assert.equal(
    parseHubConfig({ ...base, clusterName: 'a.b-c' }, { ATOLL_CLUSTER_NAME: 'x' }, false).clusterName,
    'a.b-c',
  );
  for (const bad of ['', 'Prod', 'has space', '-x', 'x'.repeat(64)])
    assert.throws(() => parseHubConfig({ ...base, clusterName: bad }, {}, false), /--cluster-name/, bad);
});

test('--cert-recovery-grace: up to 60d (how long expired certificates are kept), longer is refused by name', () => {
  const base = { dataDir: '/tmp/atoll-test', publicUrl: 'https://hub.example:9444' };
  assert.equal(parseHubConfig(base, {}, false).certRecoveryGraceMs, 30 * 86_400_000);
  assert.equal(parseHubConfig({ ...base, certRecoveryGrace: '60d' }, {}, false).certRecoveryGraceMs, 60 * 86_400_000);
  assert.throws(
    () => parseHubConfig({ ...base, certRecoveryGrace: '61d' }, {}, false),
    /--cert-recovery-grace 61d .*60d/,
  );
});

test('?wait= of node actions: seconds, a duration, zero in any unit; a bad one is a 400, not a 500', () => {
  assert.equal(waitOf('5'), 5000);
  assert.equal(waitOf('1500ms'), 1500);
  assert.equal(waitOf('0'), 0);
  assert.equal(waitOf('0s'), 0);
  assert.equal(waitOf('00ms'), 0);
  assert.throws(
    () => waitOf('5x'),
    (e: unknown) => e instanceof HubError && e.code === 'VALIDATION',
  );
});
