// End to end, several hubs on "foreign servers": three hubs, each in a network namespace of its own,
// on one real PostgreSQL (on a second network, the database's), with the same cluster secret, each
// running its k3s server (the stand-in) on the shared k3s datastore, all behind one shared name
// (--public-url https://hub.example.com:9444, which each agent's namespace resolves to one of the hubs,
// as round-robin DNS would) and each with its own --gateway-url. Six agents join through the shared
// name and become Ready k3s nodes, two on each hub. Then the faults:
//  a. kill -9 of one hub (and its k3s server): its agents are ready on the others within 30 s, no node
//     is unreachable longer, autoheal does nothing, and a reboot in flight runs exactly once;
//  b. meanwhile kubectl works through a surviving hub's kubeconfig (the shared name in the certificate),
//     and an object made through one hub's apiserver is read through the other's;
//  c. the hub leading the roles is cut off from PostgreSQL (its database link down): it stops leading,
//     answers writes 503, its agents move to the live hub, and it is back when the link is.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { netnsAvailable, type Host } from '../helpers/netns.js';
import { postgresBinDir } from '../helpers/postgres.js';
import {
  AGENT_BIN,
  HUB_BIN,
  ROOT,
  removeTree,
  runCli,
  startProcess,
  waitFor,
  type Proc,
} from '../helpers/processes.js';
import { EXTRA_SAN, SHARED_NAME, createHubsLab, peerSans, type HubsLab, type LabHub } from '../helpers/hubs-lab.js';

const avail = netnsAvailable();
const kubectl = existsSync('/usr/bin/kubectl') ? '/usr/bin/kubectl' : undefined;
const skip = !avail.ok
  ? avail.why
  : !postgresBinDir()
    ? 'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)'
    : !kubectl
      ? 'kubectl is not installed'
      : false;
const AGENTS = 6;

interface NodeView {
  id: string;
  name: string;
  state: string;
  connected: boolean;
  k3s: { state: string; ready: boolean | null };
}
interface HubItem {
  id: string;
  gatewayUrl: string;
  agents: number;
  live: boolean;
  leader: string[];
}

let work = '';
let lab: HubsLab | undefined;
const agents: Proc[] = [];

before(() => {
  if (!skip) work = mkdtempSync(join(tmpdir(), 'atoll-hubs-netns-'));
});
after(async () => {
  for (const a of agents) await a.kill('SIGKILL');
  await lab?.cleanup();
  if (work) removeTree(work);
});

const nodesOf = async (h: LabHub): Promise<NodeView[]> => {
  const r = await h.api<{ items: NodeView[] }>('GET', '/v1/nodes').catch(() => undefined);
  return r?.status === 200 ? r.body.items : [];
};
const hubsOf = async (h: LabHub): Promise<HubItem[]> => {
  const r = await h.api<{ items: HubItem[] }>('GET', '/v1/hubs').catch(() => undefined);
  return r?.status === 200 ? r.body.items : [];
};
// `connected` is about this hub's own links: a node held by another hub is ready here, not connected.
const allReady = (ns: NodeView[]): boolean =>
  ns.length === AGENTS && ns.every((n) => n.state === 'ready' && n.k3s.ready === true);

function kube(kubeconfig: string, server: string, args: string[], tlsName = SHARED_NAME): string {
  const r = spawnSync(
    kubectl!,
    ['--kubeconfig', kubeconfig, '--server', server, '--tls-server-name', tlsName, '--request-timeout=10s', ...args],
    { encoding: 'utf8', timeout: 30_000 },
  );
  assert.equal(r.status, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

test(
  'three hubs in namespaces on one PostgreSQL: a hub killed, kubectl through another, a hub cut off from the database',
  { skip, timeout: 300_000 },
  async () => {
    const startedAt = Date.now();
    const standin = join(work, 'k3s');
    const b = spawnSync(process.execPath, [join(ROOT, 'scripts/build-standin.mjs'), '--out', standin], {
      encoding: 'utf8',
    });
    assert.equal(b.status, 0, b.stderr);
    lab = await createHubsLab(work);
    const l = lab;
    const h0 = await l.startHub('hub-0', standin); // makes the CA, the admin token and the k3s datastore
    const [h1, h2] = await Promise.all([l.startHub('hub-1', standin), l.startHub('hub-2', standin)]);
    const hubs = [h0, h1, h2];
    assert.equal(readFileSync(join(h1.dataDir, 'ca.crt'), 'utf8'), readFileSync(join(h0.dataDir, 'ca.crt'), 'utf8'));
    await waitFor('three live hubs, their direct URLs listed', async () => {
      const items = await hubsOf(h1);
      return (
        items.filter((i) => i.live).length === 3 &&
        hubs.every((h) => items.find((i) => i.id === h.id)?.gatewayUrl === h.gatewayUrl)
      );
    });
    // `atoll-hub hubs` shows each hub's own URL, not the name they share.
    const table = await runCli(HUB_BIN, ['hubs', '--data-dir', h1.dataDir]);
    assert.equal(table.code, 0, table.stderr);
    for (const h of hubs) assert.match(table.stdout, new RegExp(`^${h.id}.*live\\s+${h.gatewayUrl}`, 'm'));
    // The hub's certificate names the shared name, its own address and --tls-san (TLS checks each).
    const ca = readFileSync(join(h0.dataDir, 'ca.crt'), 'utf8');
    for (const name of [SHARED_NAME, EXTRA_SAN, h1.host.ip])
      assert.match(await peerSans(h1.apiUrl, name, ca), new RegExp(name.replace(/\./g, '\\.')));
    // A welcome lists the hubs of the last beat: let one pass with all three live.
    await new Promise((r) => setTimeout(r, 2_500));

    // Six agents join through the shared name; agent i's namespace resolves it to hub i % 3.
    const tok = await h0.api<{ token: string }>('POST', '/v1/tokens', { pool: 'default', uses: AGENTS, ttl: '10m' });
    assert.equal(tok.status, 201);
    const agentHosts: Host[] = [];
    const markers: string[] = [];
    for (let i = 0; i < AGENTS; i++) {
      const host = l.net.addHost(`a${i}`);
      agentHosts.push(host);
      l.net.setHosts(host, { [SHARED_NAME]: hubs[i % 3].host.ip });
      const marker = join(work, `rebooted-${i}`);
      markers.push(marker);
      const script = join(work, `reboot-${i}.sh`);
      writeFileSync(script, `#!/bin/sh\necho ran >> ${marker}\n`, { mode: 0o755 });
      agents.push(
        startProcess(
          AGENT_BIN,
          [
            ...['join', '--hub', `https://${SHARED_NAME}:9444`, '--token', tok.body.token],
            ...['--node-name', `edge-${i}`, '--data-dir', join(work, `agent-${i}`)],
          ],
          {
            ATOLL_AGENT_K3S_START_GRACE_MS: '20000',
            ATOLL_AGENT_RECONNECT_MAX_MS: '2000',
            ATOLL_AGENT_REBOOT_COMMAND: script,
            ATOLL_STANDIN_HEARTBEAT_MS: '1000',
            ATOLL_STANDIN_LB_REFRESH_MS: '2000',
          },
          l.net.exec(host),
        ),
      );
    }
    const nodes = await waitFor(
      'six Ready k3s nodes, two on each hub',
      async () => {
        const ns = await nodesOf(h0);
        const items = await hubsOf(h0);
        return allReady(ns) && hubs.every((h) => items.find((i) => i.id === h.id)?.agents === 2) && ns;
      },
      120_000,
      500,
    ).catch(async (err: Error) => {
      const ns = await nodesOf(h0);
      throw new Error(
        `${err.message}\nnodes: ${JSON.stringify(ns.map((n) => [n.name, n.state, n.k3s]))}\nhubs: ${JSON.stringify(await hubsOf(h0))}\nagent0: ${agents[0].stderr().slice(-2000)}`,
      );
    });
    process.stdout.write(`# six agents Ready ${Date.now() - startedAt} ms after the start\n`);
    const onH0 = nodes.filter((n) => Number(n.name.split('-')[1]) % 3 === 0);
    const eventsBefore = (await h1.api<{ items: Array<{ id: number }> }>('GET', '/v1/events?limit=1')).body.items[0].id;

    // a. kill -9 of hub 0 with a reboot in flight for each of its nodes, sent through hub 1.
    const inFlight = onH0.map((n) =>
      h1
        .api<{ ok?: boolean }>('POST', `/v1/nodes/${n.id}/actions/reboot?wait=40s`, undefined, 45_000)
        .catch((e: Error) => e),
    );
    await new Promise((r) => setTimeout(r, 50));
    await h0.kill();
    const killedAt = Date.now();
    const unreachableSince = new Map<string, number>();
    let longestUnreachable = 0;
    const moved = await waitFor(
      "hub 0's agents ready on hubs 1 and 2",
      async () => {
        const ns = await nodesOf(h1);
        for (const n of ns) {
          if (n.state === 'unreachable' && !unreachableSince.has(n.id)) unreachableSince.set(n.id, Date.now());
          if (n.state !== 'unreachable' && unreachableSince.has(n.id)) {
            longestUnreachable = Math.max(longestUnreachable, Date.now() - unreachableSince.get(n.id)!);
            unreachableSince.delete(n.id);
          }
        }
        const items = await hubsOf(h1);
        const held = items.filter((i) => i.id !== 'hub-0' && i.live).reduce((s, i) => s + i.agents, 0);
        return allReady(ns) && held === AGENTS && unreachableSince.size === 0 && items;
      },
      30_000,
      250,
    ).catch(async (err: Error) => {
      throw new Error(
        `${err.message}\nnodes: ${JSON.stringify((await nodesOf(h1)).map((n) => [n.name, n.state, n.connected, n.k3s]))}\nagent0: ${agents[0].stderr().slice(-3000)}`,
      );
    });
    const movedMs = Date.now() - killedAt;
    process.stdout.write(
      `# hub 0 killed: its agents ready elsewhere in ${movedMs} ms (${moved.map((i) => `${i.id}:${i.agents}`).join(' ')}); longest unreachable ${longestUnreachable} ms\n`,
    );
    for (const r of await Promise.all(inFlight))
      assert.ok(
        !(r instanceof Error) && r.status === 200 && r.body.ok === true,
        `reboot in flight: ${r instanceof Error ? r.message : JSON.stringify(r)}`,
      );
    await new Promise((r) => setTimeout(r, 3_000)); // room for a second run, were there one
    for (const [i, m] of markers.entries()) {
      const runs = existsSync(m) ? readFileSync(m, 'utf8').trim().split('\n').length : 0;
      assert.equal(runs, i % 3 === 0 ? 1 : 0, `edge-${i}: the reboot ran ${runs} times`);
    }
    const evs = await h1.api<{ items: Array<{ id: number; type: string; nodeId?: string }> }>(
      'GET',
      `/v1/events?since=${eventsBefore}&limit=1000`,
      undefined,
      30_000,
    );
    const acted = evs.body.items.filter((e) => /^autoheal\.(step|drain|decision|failed)$/.test(e.type));
    assert.deepEqual(acted, [], 'autoheal took no action');

    // b. kubectl through hub 1's kubeconfig (the shared name, checked against its certificate) while hub 0 is down.
    process.stdout.write(`# autoheal checked ${Date.now() - killedAt} ms after the kill\n`);
    const kc = await h1.api<string>('GET', '/v1/cluster/kubeconfig', undefined, 30_000);
    assert.equal(kc.status, 200);
    assert.match(kc.body, new RegExp(`server: https://${SHARED_NAME.replace(/\./g, '\\.')}:6443`));
    const kcPath = join(work, 'kubeconfig-hub-1.yaml');
    writeFileSync(kcPath, kc.body, { mode: 0o600 });
    const k1 = `https://${h1.host.ip}:6443`;
    const k2 = `https://${h2.host.ip}:6443`;
    const kn = JSON.parse(kube(kcPath, k1, ['get', 'nodes', '-o', 'json'])) as {
      items: Array<{ metadata: { name: string }; status: { conditions: Array<{ type: string; status: string }> } }>;
    };
    assert.deepEqual(
      kn.items.map((n) => n.metadata.name).sort(),
      Array.from({ length: AGENTS }, (_, i) => `edge-${i}`),
    );
    for (const n of kn.items)
      assert.equal(n.status.conditions.find((c) => c.type === 'Ready')?.status, 'True', n.metadata.name);
    kube(kcPath, k1, ['create', 'configmap', 'made-on-hub-1', '--from-literal=from=hub-1']);
    const seen = await waitFor('the ConfigMap through hub 2', () => {
      const r = spawnSync(
        kubectl!,
        ['--kubeconfig', kcPath, '--server', k2, '--tls-server-name', EXTRA_SAN, 'get', 'configmap', 'made-on-hub-1'],
        { encoding: 'utf8', timeout: 20_000 },
      );
      return r.status === 0 && r.stdout;
    });
    assert.match(seen, /made-on-hub-1/);
    assert.match(kube(kcPath, k2, ['get', 'configmap', 'made-on-hub-1', '-o', 'jsonpath={.data.from}']), /^hub-1$/);

    // c. Cut the hub that leads the roles off from PostgreSQL; the other keeps it.
    const items = await hubsOf(h1);
    const leaderId = [...items].sort((x, y) => y.leader.length - x.leader.length)[0].id;
    const [cut, live] = leaderId === 'hub-2' ? [h2, h1] : [h1, h2];
    const cutAt = Date.now();
    l.dbNet.setLink(cut.dbLink, false);
    try {
      await waitFor(`${cut.id} not ready`, async () => (await cut.readyz()) === 503, 30_000, 250);
      process.stdout.write(`# ${cut.id} answers /readyz 503 ${Date.now() - cutAt} ms after the cut\n`);
      const w = await cut.api<{ error?: { code: string } }>('POST', '/v1/pools', { name: 'while-cut' }, 30_000);
      assert.equal(w.status, 503, JSON.stringify(w.body));
      const led = await waitFor(
        `${live.id} leads every role, ${cut.id} none`,
        async () => {
          const its = await hubsOf(live);
          const mine = its.find((i) => i.id === live.id);
          const theirs = its.find((i) => i.id === cut.id);
          return mine && mine.leader.length >= 5 && (!theirs || theirs.leader.length === 0) && its;
        },
        30_000,
        250,
      );
      await waitFor(
        `every agent on ${live.id}`,
        async () =>
          allReady(await nodesOf(live)) && (await hubsOf(live)).find((i) => i.id === live.id)?.agents === AGENTS,
        60_000,
        250,
      );
      process.stdout.write(
        `# ${cut.id} cut off from the database: ${live.id} leads ${led.find((i) => i.id === live.id)?.leader.length} roles, every agent on it ${Date.now() - cutAt} ms after the cut\n`,
      );
    } finally {
      l.dbNet.setLink(cut.dbLink, true);
    }
    await waitFor(`${cut.id} ready again`, async () => (await cut.readyz()) === 200, 60_000, 250);
    await waitFor(`${cut.id} live again`, async () => (await hubsOf(live)).find((i) => i.id === cut.id)?.live, 30_000);
    const w2 = await cut.api('POST', '/v1/pools', { name: 'after-cut' });
    assert.equal(w2.status, 201, JSON.stringify(w2.body));
    process.stdout.write(`# the whole test took ${Date.now() - startedAt} ms\n`);
  },
);
