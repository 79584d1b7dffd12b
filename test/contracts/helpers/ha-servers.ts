// Several `k3s server`s on one PostgreSQL datastore for the HA contract: each on its own loopback
// address (127.0.0.x) and the same port, so the `kubernetes` endpoints can list them all as k3s does.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:https';
import type { ProcessRegistry, Managed } from './processes.js';
import { freePort } from './ports.js';
import { eventually, insecureGet, readKubeconfig, type Creds } from './kube-http.js';

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
): Promise<HaServer> {
  const dataDir = join(o.tmp, name);
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
