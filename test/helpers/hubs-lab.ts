// Several hubs on "foreign servers" (test/helpers/netns.ts): each hub in a network namespace of its
// own, on the agents' network and on a second one, the database's, where a real PostgreSQL listens on
// the root namespace's bridge address. Cutting a hub's database link (dbNet.setLink) leaves its agents'
// link as it was. Everything is started by pid and stopped by cleanup, also when a test fails.
import { request } from 'node:https';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createLab, type Host, type Lab } from './netns.js';
import { startPostgres, type PgServer } from './postgres.js';
import { HUB_BIN, apiCall, killProcessesUnder, startProcess, waitFor, type Proc } from './processes.js';

export const SHARED_NAME = 'hub.example.com';
export const EXTRA_SAN = 'k8s.example.com';

export interface LabHub {
  id: string;
  host: Host;
  /** This hub's link to the database's network. */
  dbLink: Host;
  dataDir: string;
  apiUrl: string;
  gatewayUrl: string;
  proc: Proc;
  api<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    timeoutMs?: number,
  ): Promise<{ status: number; body: T }>;
  readyz(): Promise<number>;
  /** kill -9 of the hub and of its k3s server: its machine dies. */
  kill(): Promise<void>;
}

export interface HubsLab {
  net: Lab;
  dbNet: Lab;
  pg: PgServer;
  hubs: LabHub[];
  startHub(id: string, standin: string): Promise<LabHub>;
  cleanup(): Promise<void>;
}

export async function createHubsLab(work: string): Promise<HubsLab> {
  const subnet = Math.floor(Math.random() * 100) * 2 + 20;
  const net = createLab(subnet);
  const dbNet = createLab(subnet + 1);
  const cleanups: Array<() => unknown> = [() => dbNet.cleanup(), () => net.cleanup()];
  const hubs: LabHub[] = [];
  let pg: PgServer;
  try {
    pg = await startPostgres({ listen: [dbNet.gatewayIp], allowFrom: [`${dbNet.gatewayIp.replace(/\d+$/, '0')}/24`] });
  } catch (err) {
    for (const c of cleanups) c();
    throw err;
  }
  cleanups.unshift(() => pg.stop());
  pg.createDatabase('atoll_hubs');
  const secretFile = join(work, 'cluster-secret');
  writeFileSync(secretFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  const datastore = pg.urlFor('atoll_hubs', dbNet.gatewayIp);
  const lab: HubsLab = {
    net,
    dbNet,
    pg,
    hubs,
    async startHub(id, standin) {
      const host = net.addHost(id);
      const dbLink = dbNet.attach(host);
      const dataDir = join(work, id);
      mkdirSync(dataDir, { mode: 0o700 });
      const gatewayUrl = `https://${host.ip}:9444`;
      const args = [
        'run',
        ...['--data-dir', dataDir, '--cluster-secret-file', secretFile, '--hub-id', id],
        ...['--api-listen', `${host.ip}:9443`, '--gateway-listen', '0.0.0.0:9444'],
        // The address every hub shares (a DNS name in front of them), and this hub's own.
        ...['--public-url', `https://${SHARED_NAME}:9444`, '--gateway-url', gatewayUrl, '--tls-san', EXTRA_SAN],
        ...['--k3s', standin, '--k3s-arg=--disable-agent', '--datastore-pool-size', '4'],
        ...['--heartbeat-interval', '1s', '--unreachable-after', '5s'],
      ];
      // The password only through the environment, as an operator should give it.
      const env = {
        ATOLL_DATASTORE: datastore,
        ATOLL_STANDIN_HEARTBEAT_MS: '1000',
        ATOLL_STANDIN_LB_REFRESH_MS: '2000',
      };
      const proc = startProcess(HUB_BIN, args, env, net.exec(host));
      cleanups.unshift(async () => {
        await proc.kill('SIGKILL');
        killProcessesUnder(dataDir);
      });
      const apiUrl = `https://${host.ip}:9443`;
      const ca = (): string => readFileSync(join(dataDir, 'ca.crt'), 'utf8');
      const token = (): string => readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
      const hub: LabHub = {
        id,
        host,
        dbLink,
        dataDir,
        apiUrl,
        gatewayUrl,
        proc,
        api: (method, path, body, timeoutMs) => apiCall(apiUrl, ca(), token(), method, path, body, timeoutMs),
        readyz: () => readyz(apiUrl, ca()),
        async kill() {
          killProcessesUnder(dataDir);
          await proc.kill('SIGKILL');
        },
      };
      hubs.push(hub);
      await waitFor(
        `${id}: control plane running`,
        async () => (await hub.api<{ state: string }>('GET', '/v1/cluster')).body.state === 'running',
        90_000,
        250,
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${proc.stderr().slice(-3000)}`);
      });
      return hub;
    },
    async cleanup() {
      for (const c of cleanups.splice(0)) await Promise.resolve(c()).catch(() => undefined);
    },
  };
  return lab;
}

/** GET /readyz (no token): its status, or 0 when the hub does not answer within 3 s. */
export function readyz(apiUrl: string, caPem: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(new URL('/readyz', apiUrl), { ca: caPem, timeout: 3000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** The subject alternative names of the certificate a TLS server shows for `servername`. */
export function peerSans(url: string, servername: string, caPem: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(new URL('/healthz', url), { ca: caPem, servername, timeout: 5000 }, (res) => {
      const cert = (res.socket as import('node:tls').TLSSocket).getPeerCertificate();
      res.resume();
      resolve(cert.subjectaltname ?? '');
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}
