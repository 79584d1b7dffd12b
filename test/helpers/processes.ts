// Real hub and agent processes for integration tests, started from the built bins (dist/), each
// with its own temp data dir. Every process started here is stopped by pid in cleanup.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'node:https';
import { freePort } from './ports.js';
import { datastoreArgs, postgresOf } from './test-datastore.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const HUB_BIN = join(ROOT, 'dist', 'hub', 'main.js');
export const AGENT_BIN = join(ROOT, 'dist', 'agent', 'main.js');

export interface Proc {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `node bin args`; `prefix` runs it through a wrapper, e.g. ['ip', 'netns', 'exec', NS]. */
export function startProcess(bin: string, args: string[], env: NodeJS.ProcessEnv = {}, prefix: string[] = []): Proc {
  const [cmd, ...pre] = [...prefix, process.execPath];
  const child = spawn(cmd, [...pre, bin, ...args], {
    env: { ...process.env, ATOLL_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Runs a command to completion. */
export function runCli(
  bin: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 30_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // A hub command on a data dir whose hub runs on PostgreSQL (ATOLL_TEST_DATASTORE=postgres) gets that
  // database as an operator's shell would have it: ATOLL_DATASTORE.
  const at = args.indexOf('--data-dir');
  const pg = bin === HUB_BIN && at >= 0 && args[at + 1] ? postgresOf(args[at + 1]) : undefined;
  const withStore =
    pg && env.ATOLL_DATASTORE === undefined ? { ATOLL_DATASTORE: pg.server.urlFor(pg.database), ...env } : env;
  const p = startProcess(bin, args, withStore);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  return p.exited.then((code) => {
    clearTimeout(timer);
    return { code, stdout: p.stdout(), stderr: p.stderr() };
  });
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 15_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface HubHandle {
  dataDir: string;
  apiUrl: string;
  gatewayUrl: string;
  apiPort: number;
  gatewayPort: number;
  proc: Proc;
  adminToken(): string;
  caPem(): string;
  api<T = unknown>(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: T }>;
  /** Starts the hub again on the same data dir and ports (after stop or kill), with `extraArgs` added once. */
  restart(extraArgs?: string[]): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface HubStartOptions {
  /** --k3s value; default off. */
  k3s?: string;
  heartbeat?: string;
  unreachableAfter?: string;
  extraArgs?: string[];
  env?: NodeJS.ProcessEnv;
  dataDir?: string;
  /** --public-url (what the hub tells agents to dial); default the gateway itself. */
  publicUrl?: string;
}

export async function startHub(opts: HubStartOptions = {}): Promise<HubHandle> {
  const dataDir = opts.dataDir ?? join(mkdtempSync(join(tmpdir(), 'atoll-hub-')), 'data');
  const apiPort = await freePort();
  const gatewayPort = await freePort();
  const gatewayUrl = `https://127.0.0.1:${gatewayPort}`;
  const args = [
    'run',
    '--data-dir',
    dataDir,
    '--api-listen',
    `127.0.0.1:${apiPort}`,
    '--gateway-listen',
    `127.0.0.1:${gatewayPort}`,
    '--public-url',
    opts.publicUrl ?? gatewayUrl,
    '--k3s',
    opts.k3s ?? 'off',
    '--heartbeat-interval',
    opts.heartbeat ?? '1s',
    '--unreachable-after',
    opts.unreachableAfter ?? '3s',
    ...(opts.extraArgs ?? []),
    // ATOLL_TEST_DATASTORE=postgres: a database of its own on the test process's PostgreSQL.
    // A hub given its datastore through ATOLL_DATASTORE keeps it (no harness database on top).
    ...(opts.env?.ATOLL_DATASTORE ? [] : await datastoreArgs(dataDir, opts.extraArgs)),
  ];
  const handle: HubHandle = {
    dataDir,
    apiUrl: `https://127.0.0.1:${apiPort}`,
    gatewayUrl,
    apiPort,
    gatewayPort,
    proc: undefined as unknown as Proc,
    adminToken: () => readFileSync(join(dataDir, 'admin-token'), 'utf8').trim(),
    caPem: () => readFileSync(join(dataDir, 'ca.crt'), 'utf8'),
    api: (method, path, body, token) =>
      apiCall(handle.apiUrl, handle.caPem(), token ?? handle.adminToken(), method, path, body),
    async restart(extraArgs: string[] = []) {
      handle.proc = startProcess(HUB_BIN, [...args, ...extraArgs], opts.env);
      // 45 s: a hub starts in 1-2 s here, but a loaded 2-core CI machine has taken over 20 s.
      await waitFor('hub to serve', async () => (await handle.api('GET', '/healthz')).status === 200, 45_000).catch(
        async (err: Error) => {
          const stderr = handle.proc.stderr();
          // Never leave a hub that did not come up running behind the failed test.
          await handle.proc.kill('SIGKILL').catch(() => undefined);
          throw new Error(`${err.message}\nhub stderr:\n${stderr}`);
        },
      );
      // The banner follows the first answer by a store round trip or two (longer on PostgreSQL).
      await waitFor('the start banner', () => /API: /.test(handle.proc.stdout()), 5_000, 20).catch(() => undefined);
    },
    async stop(signal = 'SIGTERM') {
      await handle.proc.kill(signal);
    },
  };
  await handle.restart();
  return handle;
}

export function apiCall<T>(
  baseUrl: string,
  caPem: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 10_000,
): Promise<{ status: number; body: T }> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((res, rej) => {
    const req = request(
      new URL(path, baseUrl),
      {
        method,
        ca: caPem,
        timeout: timeoutMs,
        headers: {
          authorization: `Bearer ${token}`,
          ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
        },
      },
      (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            // keep text
          }
          res({ status: r.statusCode ?? 0, body: parsed as T });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', rej);
    req.end(payload);
  });
}

export interface AgentHandle {
  dataDir: string;
  proc: Proc;
  /** Starts `atoll-agent run` on the same data dir. */
  run(): Proc;
}

export function agentDataDir(): string {
  return join(mkdtempSync(join(tmpdir(), 'atoll-agent-')), 'data');
}

export function startAgentJoin(
  hub: { gatewayUrl: string },
  token: string,
  opts: {
    dataDir?: string;
    args?: string[];
    env?: NodeJS.ProcessEnv;
    k3s?: 'auto' | 'off';
    bin?: string;
    nodeOptions?: string;
  } = {},
): AgentHandle {
  const dataDir = opts.dataDir ?? agentDataDir();
  const env = {
    ATOLL_AGENT_RECONNECT_MAX_MS: '2000',
    ...(opts.nodeOptions ? { NODE_OPTIONS: opts.nodeOptions } : {}),
    ...opts.env,
  };
  const k3s = opts.k3s ?? 'off';
  const bin = opts.bin ?? AGENT_BIN;
  const handle: AgentHandle = {
    dataDir,
    proc: startProcess(
      bin,
      ['join', '--hub', hub.gatewayUrl, '--token', token, '--k3s', k3s, '--data-dir', dataDir, ...(opts.args ?? [])],
      env,
    ),
    run() {
      handle.proc = startProcess(bin, ['run', '--data-dir', dataDir, '--k3s', k3s], env);
      return handle.proc;
    },
  };
  return handle;
}

/**
 * Kills (by pid) every process whose command line names a path under `dir`: the k3s servers and
 * agents a test's hub or agent started, which outlive a SIGKILLed parent, as real k3s would.
 */
export function killProcessesUnder(dir: string): void {
  const needle = resolve(dir);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue; // gone
    }
    if (!cmdline.split('\0').some((arg) => arg.startsWith(needle))) continue;
    try {
      process.kill(Number(entry), 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Removes a test's temp tree after killing what still runs from it. */
export function removeTree(dir: string): void {
  // Never a shared root: removing (and killing everything under) the temp dir or / hits other tests.
  const target = resolve(dir);
  if (target === resolve(tmpdir()) || target === '/' || target === resolve(ROOT))
    throw new Error(`removeTree refused to remove ${target}: pass the test's own temp folder`);
  killProcessesUnder(dir);
  rmSync(dir, { recursive: true, force: true });
}

export function removeDir(dir: string): void {
  removeTree(resolve(dir, '..'));
}

/** GET /metrics as Prometheus scrapes it: a bearer token (the admin's unless given), the hub CA trusted. */
export function scrapeMetrics(
  h: { apiUrl: string; caPem(): string; adminToken(): string },
  token?: string,
): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    request(
      `${h.apiUrl}/metrics`,
      { ca: h.caPem(), headers: { authorization: `Bearer ${token ?? h.adminToken()}` } },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => {
          body += d.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
      },
    )
      .on('error', reject)
      .end();
  });
}
