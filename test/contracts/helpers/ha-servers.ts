// Several `k3s server`s on one PostgreSQL datastore for the HA contract: each on its own loopback
// address (127.0.0.x) and the same port, so the `kubernetes` endpoints can list them all as k3s does.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:https';
import type { ProcessRegistry, Managed } from './processes.js';
import { freePort } from './ports.js';
import { call, eventually, insecureGet, readKubeconfig, type Creds } from './kube-http.js';

export interface HaServer {
  readonly name: string;
  readonly ip: string;
  readonly url: string;
  readonly dataDir: string;
  readonly kubeconfig: string;
  readonly proc: Managed;
  creds(): Creds;
}

export interface HaServerOptions {
  readonly bin: string;
  readonly tmp: string;
  readonly port: number;
  readonly datastore: string;
  readonly token: string;
  readonly env: NodeJS.ProcessEnv;
}

/** Starts `k3s server` on `ip` (not waiting for it: see waitServing). */
export async function startHaServer(
  procs: ProcessRegistry,
  o: HaServerOptions,
  name: string,
  ip: string,
  dataDir = join(o.tmp, name),
): Promise<HaServer> {
  const kubeconfig = join(o.tmp, `${name}.yaml`);
  const args = [
    'server',
    '--datastore-endpoint',
    o.datastore,
    '--token',
    o.token,
    '--data-dir',
    dataDir,
    '--bind-address',
    ip,
    '--advertise-address',
    ip,
    '--https-listen-port',
    String(o.port),
    // a real k3s also listens on its own ports for the apiserver and the controllers: keep them apart
    '--apiserver-port',
    String(await freePort()),
    `--kube-controller-manager-arg=secure-port=${await freePort()}`,
    `--kube-scheduler-arg=secure-port=${await freePort()}`,
    '--disable-cloud-controller',
    '--write-kubeconfig',
    kubeconfig,
    '--disable-agent',
    '--disable',
    'traefik,servicelb',
  ];
  const proc = procs.start(name, o.bin, args, o.env);
  const url = `https://${ip}:${o.port}`;
  return { name, ip, url, dataDir, kubeconfig, proc, creds: () => ({ ...readKubeconfig(kubeconfig), server: url }) };
}

export async function waitServing(s: HaServer, timeoutMs = 90_000): Promise<void> {
  await eventually(`${s.name} answering /ping and writing its kubeconfig`, timeoutMs, async () => {
    if (s.proc.proc.exitCode !== null) throw new Error(`${s.name} exited:\n${s.proc.output()}`);
    const r = await insecureGet(`${s.url}/ping`);
    return r.body.toString() === 'pong' && existsSync(s.kubeconfig) ? true : undefined;
  });
}

/** Kills a server with SIGKILL (no clean shutdown) and waits until it is gone. */
export async function killHard(s: HaServer): Promise<void> {
  if (s.proc.proc.exitCode === null && s.proc.proc.signalCode === null && s.proc.proc.pid !== undefined)
    process.kill(s.proc.proc.pid, 'SIGKILL');
  await s.proc.exited();
}

/**
 * Opens a watch (?watch=true) and resolves with the time the first event matching `match` arrived;
 * the stream is closed then, or when `timeoutMs` passes (rejects).
 */
export function watchUntil(
  c: Creds,
  path: string,
  match: (e: { type: string; object: { metadata?: { name?: string } } }) => boolean,
  timeoutMs: number,
): { opened: Promise<void>; event: Promise<number> } {
  let onOpen: () => void = () => undefined;
  const opened = new Promise<void>((r) => (onOpen = r));
  const event = new Promise<number>((resolve, reject) => {
    const req = request(new URL(path, c.server), {
      ca: c.ca,
      cert: c.cert,
      key: c.key,
      agent: false,
      headers: { Accept: 'application/json' },
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no matching event on ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('response', (res) => {
      onOpen();
      let buf = '';
      res.on('data', (d: Buffer) => {
        buf += d.toString('utf8');
        for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line.trim() && match(JSON.parse(line) as Parameters<typeof match>[0])) {
            clearTimeout(timer);
            resolve(Date.now());
            req.destroy();
            return;
          }
        }
      });
    });
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end();
  });
  return { opened, event };
}

export interface NodeObj {
  metadata: { name: string };
  status?: { conditions?: { type: string; status: string; lastHeartbeatTime?: string }[] };
}

/** The node's Ready condition as `s` serves it (undefined when the node is not there). */
export async function readyThrough(
  s: HaServer,
  node: string,
): Promise<{ status: string; lastHeartbeatTime?: string } | undefined> {
  const r = await call(s.creds(), `/api/v1/nodes/${node}`);
  if (r.status !== 200) return undefined;
  return r.json<NodeObj>().status?.conditions?.find((c) => c.type === 'Ready');
}

/** Resolves with how long after `since` a heartbeat (Ready=True, a later lastHeartbeatTime) shows through `s`. */
export function heartbeatAfter(s: HaServer, node: string, since: number, timeoutMs: number): Promise<number> {
  return eventually(`a heartbeat of ${node} through ${s.name}`, timeoutMs, async () => {
    const r = await readyThrough(s, node);
    const at = Date.parse(r?.lastHeartbeatTime ?? '');
    return r?.status === 'True' && at >= Math.ceil(since / 1000) * 1000 ? Math.max(0, at - since) : undefined;
  });
}

/** The sorted IPs of the `kubernetes` Endpoints as `s` serves them. */
export async function endpointIps(s: HaServer): Promise<string> {
  const r = await call(s.creds(), '/api/v1/namespaces/default/endpoints/kubernetes');
  const ep = r.json<{ subsets?: { addresses?: { ip: string }[] }[] }>();
  return (ep.subsets ?? [])
    .flatMap((x) => (x.addresses ?? []).map((a) => a.ip))
    .sort()
    .join();
}

/** The agent's k3s-agent-load-balancer.json. */
export function readLbFile(agentDataDir: string): { ServerURL?: string; ServerAddresses?: string[] } {
  return JSON.parse(readFileSync(join(agentDataDir, 'agent', 'etc', 'k3s-agent-load-balancer.json'), 'utf8')) as {
    ServerURL?: string;
    ServerAddresses?: string[];
  };
}
