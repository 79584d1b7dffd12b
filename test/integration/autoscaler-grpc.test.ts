// cluster-autoscaler's externalgrpc cloud provider served by a real hub process, driven the way
// cluster-autoscaler calls it (@grpc/grpc-js over mTLS with the certificate `atoll-hub autoscaler
// cert` wrote): node groups, the group of a joined node by its providerID, target size, increase
// (bounded by maxSize; the pool hook's create starts a real agent that joins with the cloud-init's
// token), instances, template node, delete nodes (node removed, machine deleted through the hook),
// options, refresh. Without a certificate, with another CA's, or with a node's, the hub refuses.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, makeGenericClientConstructor, status, type ChannelCredentials } from '@grpc/grpc-js';
import {
  startHub,
  waitFor,
  removeDir,
  removeTree,
  runCli,
  AGENT_BIN,
  HUB_BIN,
  type HubHandle,
} from '../helpers/processes.js';
import { freePort } from '../helpers/ports.js';
import { Puppet } from '../helpers/puppet.js';
import {
  decodeKubeNode,
  externalGrpcServiceDefinition,
  InstanceState,
  type ExternalGrpcMethod,
  type RequestOf,
  type ResponseOf,
} from '../../proto/externalgrpc-service.js';
import { createCa } from '../../certs/ca.js';
import { issueClientCertForKey } from '../../certs/issue.js';
import { generateKeyPair } from '../../certs/keys.js';

const work = mkdtempSync(join(tmpdir(), 'atoll-grpc-'));
let hub: HubHandle | undefined;
const puppets: Puppet[] = [];
const CloudProvider = makeGenericClientConstructor(externalGrpcServiceDefinition(), 'CloudProvider');
type Client = InstanceType<typeof CloudProvider>;
const clients: Client[] = [];

after(async () => {
  for (const c of clients) c.close();
  for (const p of puppets) p.stop();
  const pidFile = join(work, 'machine.pid');
  if (existsSync(pidFile)) {
    try {
      process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (hub) {
    await hub.stop('SIGKILL');
    removeDir(hub.dataDir);
  }
  removeTree(work);
});

function connect(port: number, creds: ChannelCredentials): Client {
  const c = new CloudProvider(`127.0.0.1:${port}`, creds);
  clients.push(c);
  return c;
}

/** One unary call with a deadline; resolves the response or rejects with the gRPC error (code, details). */
type Unary = (req: unknown, opts: object, cb: (err: Error | null, res: unknown) => void) => void;

function call<M extends ExternalGrpcMethod>(c: Client, method: M, req: RequestOf<M>): Promise<ResponseOf<M>> {
  return new Promise((resolve, reject) => {
    const fn = (c as unknown as Record<string, Unary>)[method].bind(c);
    fn(req, { deadline: Date.now() + 15_000 }, (err: Error | null, res: unknown) =>
      err ? reject(err) : resolve(res as ResponseOf<M>),
    );
  });
}

async function refused(p: Promise<unknown>, code: status, what: string): Promise<string> {
  const err = (await p.then(
    () => assert.fail(`${what}: the call should be refused`),
    (e: unknown) => e,
  )) as { code: number; details: string };
  assert.equal(err.code, code, `${what}: ${status[err.code]} ${err.details}`);
  return err.details;
}

const targetOf = async (c: Client): Promise<number> =>
  (await call(c, 'NodeGroupTargetSize', { id: 'default' })).targetSize ?? 0;

test('cluster-autoscaler drives a pool through the externalgrpc service over mTLS', async () => {
  // The pool's provider hook: create starts a real agent with the token and hub of the cloud-init it
  // got (a new machine), delete records what it was asked to delete.
  const hook = join(work, 'hook.sh');
  writeFileSync(
    hook,
    `#!/bin/sh
set -eu
req=$(cat)
echo "$1" >> "${work}/hook-calls"
case "$1" in
  capabilities)
    echo '{"ok": true, "actions": ["create", "delete"]}' ;;
  create)
    token=$(printf '%s' "$req" | grep -o 'AT1[0-9a-f]\\{64\\}::[a-z0-9]\\{8\\}\\.[a-z0-9]\\{32\\}' | head -n1)
    hub=$(printf '%s' "$req" | grep -o 'https://127\\.0\\.0\\.1:[0-9]*' | head -n1)
    nohup "${process.execPath}" "${AGENT_BIN}" join --hub "$hub" --token "$token" --k3s off --node-name machine-1 --data-dir "${work}/machine-1" > "${work}/machine.log" 2>&1 &
    echo $! > "${work}/machine.pid"
    echo '{"ok": true, "message": "machine created", "machineId": "vm-1"}' ;;
  delete)
    printf '%s' "$req" > "${work}/delete-request.json"
    echo '{"ok": true, "message": "machine deleted"}' ;;
esac
`,
  );
  chmodSync(hook, 0o755);
  const port = await freePort();
  hub = await startHub({ extraArgs: ['--autoscaler-grpc-listen', `127.0.0.1:${port}`] });
  const h = hub;
  // A pool is a node group only once it opted in (autoscale on, with a hook that can create and delete).
  const batch = await h.api('POST', '/v1/pools', { name: 'batch' });
  assert.equal(batch.status, 201, JSON.stringify(batch.body));
  const patched = await h.api('PATCH', '/v1/pools/default', {
    minSize: 1,
    maxSize: 2,
    labels: { tier: 'web' },
    taints: ['dedicated=web:NoSchedule'],
    autoheal: { hook },
    autoscale: { enabled: true },
  });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));

  // The certificate, as an admin issues it for cluster-autoscaler.
  const certDir = join(work, 'ca-certs');
  const cli = await runCli(HUB_BIN, ['autoscaler', 'cert', '--out', certDir, '--data-dir', h.dataDir]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.equal(statSync(join(certDir, 'tls.key')).mode & 0o777, 0o600);
  const cloudConfig = readFileSync(join(certDir, 'cloud-config'), 'utf8');
  assert.match(cloudConfig, new RegExp(`^address: "127\\.0\\.0\\.1:${port}"$`, 'm'));
  assert.match(cloudConfig, new RegExp(`^cacert: "${join(certDir, 'ca.crt')}"$`, 'm'));
  const file = (f: string): Buffer => readFileSync(join(certDir, f));
  const ca = connect(port, credentials.createSsl(file('ca.crt'), file('tls.key'), file('tls.crt')));

  const tok = await h.api<{ token: string }>('POST', '/v1/tokens', { uses: 1 });
  const web1 = await Puppet.join(h, tok.body.token, 'web-1');
  puppets.push(web1);

  // NodeGroups and NodeGroupForNode (the providerID the agent's kubelet registers with).
  const groups = (await call(ca, 'NodeGroups', {})) as { nodeGroups: Array<Record<string, unknown>> };
  const def = groups.nodeGroups.find((g) => g.id === 'default');
  assert.ok(def, JSON.stringify(groups));
  assert.deepEqual([def.minSize, def.maxSize], [1, 2]);
  assert.deepEqual(
    groups.nodeGroups.map((g) => g.id),
    ['default'],
    'pool batch (autoscale off) is no node group',
  );
  await refused(call(ca, 'NodeGroupIncreaseSize', { id: 'batch', delta: 1 }), status.NOT_FOUND, 'grow pool batch');
  await refused(
    call(ca, 'NodeGroupDeleteNodes', { id: 'batch', nodes: [{ providerID: `atoll://${web1.id}`, name: 'web-1' }] }),
    status.NOT_FOUND,
    'delete from pool batch',
  );
  const forNode = await call(ca, 'NodeGroupForNode', { node: { providerID: `atoll://${web1.id}`, name: 'web-1' } });
  assert.equal(forNode.nodeGroup?.id, 'default');
  // A node writes its own providerID: one naming another node's id is refused (it could get that node deleted).
  await refused(
    call(ca, 'NodeGroupForNode', { node: { providerID: `atoll://${web1.id}`, name: 'machine-1' } }),
    status.PERMISSION_DENIED,
    "a node claiming web-1's providerID",
  );
  const foreign = await call(ca, 'NodeGroupForNode', { node: { providerID: 'k3s://hub', name: 'hub' } });
  assert.equal(foreign.nodeGroup?.id ?? '', '');
  assert.equal(await targetOf(ca), 1);

  // No node has said how big it is yet (the puppet reports no memory): no template, an answer cluster-autoscaler skips.
  await refused(
    call(ca, 'NodeGroupTemplateNodeInfo', { id: 'default' }),
    status.UNIMPLEMENTED,
    'template before any sized node',
  );

  // IncreaseSize beyond maxSize is refused and changes nothing; within it, the hook creates a machine.
  const beyond = await refused(
    call(ca, 'NodeGroupIncreaseSize', { id: 'default', delta: 2 }),
    status.OUT_OF_RANGE,
    'increase past maxSize',
  );
  assert.match(beyond, /maxSize 2/);
  assert.equal(await targetOf(ca), 1);
  await call(ca, 'NodeGroupIncreaseSize', { id: 'default', delta: 1 });
  assert.equal(await targetOf(ca), 2);
  const first = (await call(ca, 'NodeGroupNodes', { id: 'default' })) as {
    instances: Array<{ id: string; status: { instanceState: number } }>;
  };
  assert.equal(first.instances.length, 2);
  assert.ok(
    first.instances.some(
      (i) => i.id === `atoll://${web1.id}` && i.status.instanceState === InstanceState.instanceRunning,
    ),
  );
  await refused(
    call(ca, 'NodeGroupIncreaseSize', { id: 'default', delta: 1 }),
    status.OUT_OF_RANGE,
    'a second increase past maxSize',
  );

  // The new machine joins with the cloud-init's token: its node replaces the request.
  const joined = await waitFor(
    'the created machine to join as a running instance',
    async () => {
      await call(ca, 'Refresh', {});
      const r = (await call(ca, 'NodeGroupNodes', { id: 'default' })) as typeof first;
      const ids = r.instances.map((i) => i.id);
      const other = r.instances.find((i) => i.id !== `atoll://${web1.id}`);
      return ids.length === 2 &&
        other &&
        !other.id.startsWith('atoll://request-') &&
        other.status.instanceState === InstanceState.instanceRunning
        ? other.id
        : undefined;
    },
    45_000,
    300,
  ).catch((err: Error) => {
    const log = existsSync(join(work, 'machine.log'))
      ? readFileSync(join(work, 'machine.log'), 'utf8').slice(-1500)
      : '';
    throw new Error(`${err.message}\n${log}`);
  });
  const machineNode = joined.slice('atoll://'.length);
  assert.equal(await targetOf(ca), 2);

  // Template for scale-up simulations: the pool's labels and taints, the size its new machine reported.
  const tpl = await call(ca, 'NodeGroupTemplateNodeInfo', { id: 'default' });
  const node = decodeKubeNode(tpl.nodeBytes!);
  assert.equal(node.metadata?.labels?.tier, 'web');
  assert.equal(node.metadata?.labels?.['atoll.dev/pool'], 'default');
  assert.deepEqual(
    node.spec?.taints?.map((t) => [t.key, t.value, t.effect]),
    [['dedicated', 'web', 'NoSchedule']],
  );
  assert.match(node.status?.capacity?.cpu?.string ?? '', /^[1-9][0-9]*$/);
  assert.match(node.status?.allocatable?.memory?.string ?? '', /^[1-9][0-9]*Ki$/);
  assert.equal(node.status?.conditions?.[0]?.type, 'Ready');
  assert.equal(tpl.nodeInfo?.metadata?.name, node.metadata?.name, 'older releases read the embedded Node');

  // DeleteNodes: not below minSize, only the group's nodes; the machine's node goes, the hook deletes vm-1.
  await refused(
    call(ca, 'NodeGroupDeleteNodes', { id: 'default', nodes: [{ providerID: 'atoll://no-such-node' }] }),
    status.INVALID_ARGUMENT,
    'a node of no group',
  );
  await refused(
    call(ca, 'NodeGroupDeleteNodes', {
      id: 'default',
      nodes: [
        { providerID: joined, name: 'machine-1' },
        { providerID: `atoll://${web1.id}`, name: 'web-1' },
      ],
    }),
    status.OUT_OF_RANGE,
    'deleting below minSize',
  );
  await call(ca, 'NodeGroupDeleteNodes', { id: 'default', nodes: [{ providerID: joined, name: 'machine-1' }] });
  assert.equal(await targetOf(ca), 1);
  await waitFor(
    'the node removed',
    async () => (await h.api('GET', `/v1/nodes/${machineNode}`)).status === 404,
    30_000,
  );
  await waitFor('the machine deleted through the hook', () => existsSync(join(work, 'delete-request.json')), 30_000);
  const del = JSON.parse(readFileSync(join(work, 'delete-request.json'), 'utf8')) as {
    action: string;
    pool: string;
    node: { id: string; machineId: string };
  };
  assert.deepEqual([del.action, del.pool, del.node.id, del.node.machineId], ['delete', 'default', machineNode, 'vm-1']);
  const after1 = (await call(ca, 'NodeGroupNodes', { id: 'default' })) as typeof first;
  await waitFor(
    'only web-1 left',
    async () => {
      const r = (await call(ca, 'NodeGroupNodes', { id: 'default' })) as typeof first;
      return r.instances.length === 1 && r.instances[0].id === `atoll://${web1.id}`;
    },
    10_000,
  ).catch(() => assert.fail(JSON.stringify(after1)));
  const hookCalls = readFileSync(join(work, 'hook-calls'), 'utf8').trim().split('\n');
  assert.deepEqual(
    hookCalls.filter((c) => c !== 'capabilities'),
    ['create', 'delete'],
  );

  // Options from the pool's autoscale settings; unknown groups; optional methods.
  const opts = await call(ca, 'NodeGroupGetOptions', {
    id: 'default',
    defaults: { scaleDownUtilizationThreshold: 0.7 },
  });
  assert.equal(opts.nodeGroupAutoscalingOptions?.scaleDownUtilizationThreshold, 0.5);
  assert.equal(Number(opts.nodeGroupAutoscalingOptions?.scaleDownUnneededDuration?.seconds), 600);
  await refused(call(ca, 'NodeGroupTargetSize', { id: 'nope' }), status.NOT_FOUND, 'an unknown group');
  await refused(call(ca, 'PricingNodePrice', {}), status.UNIMPLEMENTED, 'pricing');
  await call(ca, 'Cleanup', {});

  // The built-in autoscaler is told to step aside for this pool.
  const evs = (await h.api<{ items: Array<{ type: string; pool: string }> }>('GET', '/v1/events?limit=1000')).body
    .items;
  assert.ok(evs.some((e) => e.type === 'autoscale.external.driven' && e.pool === 'default'));
  assert.ok(evs.some((e) => e.type === 'autoscaler.cert-issued'));

  // Refused: no client certificate, another CA's certificate (with the right role), a node's certificate.
  const caPem = file('ca.crt');
  const bare = connect(port, credentials.createSsl(caPem));
  await refused(call(bare, 'NodeGroups', {}), status.UNAVAILABLE, 'no client certificate');
  const other = await createCa({ commonName: 'other CA' });
  const k = await generateKeyPair();
  const foreignCert = issueClientCertForKey(other, k.publicKeyPem, {
    commonName: 'cluster-autoscaler',
    organization: 'atoll:autoscaler',
    validityMs: 3_600_000,
  });
  const stranger = connect(
    port,
    credentials.createSsl(caPem, Buffer.from(k.privateKeyPem), Buffer.from(foreignCert.certPem)),
  );
  await refused(call(stranger, 'NodeGroups', {}), status.UNAVAILABLE, "another CA's certificate");
  const asNode = connect(
    port,
    credentials.createSsl(caPem, Buffer.from(web1.node.keyPem), Buffer.from(web1.node.certPem)),
  );
  await refused(
    call(asNode, 'NodeGroupIncreaseSize', { id: 'default', delta: 1 }),
    status.PERMISSION_DENIED,
    "a node's certificate",
  );
  assert.equal(await targetOf(ca), 1);

  // The certificate lives 90 days and can be revoked (one, or all): its calls are refused within seconds.
  const issued = /certificate ([0-9a-f]+) expires (\S+)/.exec(cli.stdout);
  assert.ok(issued, cli.stdout);
  const days = (Date.parse(issued[2]) - Date.now()) / 86_400_000;
  assert.ok(days > 89 && days <= 90, `valid ${days} days`);
  const second = await runCli(HUB_BIN, ['autoscaler', 'cert', '--out', join(work, 'ca2'), '--data-dir', h.dataDir]);
  assert.equal(second.code, 0, second.stderr);
  const f2 = (f: string): Buffer => readFileSync(join(work, 'ca2', f));
  const ca2 = connect(port, credentials.createSsl(f2('ca.crt'), f2('tls.key'), f2('tls.crt')));
  const revoke = await runCli(HUB_BIN, ['autoscaler', 'cert', 'revoke', issued[1], '--data-dir', h.dataDir]);
  assert.equal(revoke.code, 0, revoke.stderr);
  assert.match(revoke.stdout, new RegExp(`revoked ${issued[1]}`));
  const deniedSoon = (c: Client) =>
    waitFor(
      'the revoked certificate refused',
      () =>
        call(c, 'NodeGroups', {}).then(
          () => false,
          (e: { code: number }) => e.code === status.PERMISSION_DENIED,
        ),
      15_000,
      250,
    );
  await deniedSoon(ca);
  await call(ca2, 'NodeGroups', {});
  const again = await runCli(HUB_BIN, ['autoscaler', 'cert', 'revoke', issued[1], '--data-dir', h.dataDir]);
  assert.notEqual(again.code, 0, 'revoking it twice is an error');
  const all = await runCli(HUB_BIN, ['autoscaler', 'cert', 'revoke', '--all', '--data-dir', h.dataDir]);
  assert.equal(all.code, 0, all.stderr);
  await deniedSoon(ca2);
  const revokedEvents = (
    await h.api<{ items: Array<{ type: string; actor: string }> }>('GET', '/v1/events?type=autoscaler.cert-revoked')
  ).body.items;
  assert.equal(revokedEvents.length, 2);
});
