// Identities for simulated agents: a real RSA key per agent (made on libuv's thread pool, cached on
// disk so re-runs skip the slow part) and a certificate from the hub, got the way the real agent gets
// it: /cacerts checked against the token's pin, then POST /v1/join with the token and a CSR.
//
// Layout of the identity dir (keys are reused across hubs; certificates belong to one hub CA):
//   <dir>/keys/<index>.key               PKCS#8 PEM, 0600
//   <dir>/hubs/<ca-pin[0:16]>/<index>.json  { nodeId, nodeName, pool, certPem }, 0600
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { Agent as HttpsAgent, request } from 'node:https';
import { arch, release } from 'node:os';
import { randomUUID } from 'node:crypto';
import { generateKeyPair } from '../../certs/keys.js';
import { createCsr } from '../../certs/csr.js';
import { caPin } from '../../certs/pin.js';
import { parseJoinToken } from '../../certs/join-token.js';

export interface SimIdentity {
  index: number;
  nodeId: string;
  nodeName: string;
  pool: string;
  keyPem: string;
  certPem: string;
}

export interface IdentitySource {
  gatewayUrl: string;
  /** Reusable join token; needed only for agents that have no stored identity for this hub. */
  token?: string;
  identityDir: string;
  namePrefix: string;
  pool?: string;
  joinConcurrency: number;
  signal?: AbortSignal;
}

export interface PrepareReport {
  count: number;
  keysGenerated: number;
  keysLoaded: number;
  /** Time to load or make every key. */
  keygenMs: number;
  joined: number;
  reused: number;
  failed: number;
  errors: string[];
  wallMs: number;
  /** Time spent joining (from the first to the last join answer), and the per-join latencies. */
  joinWallMs: number;
  joinLatenciesMs: number[];
}

const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };
const BOOT_ID = randomUUID();

export function nodeNameFor(prefix: string, index: number): string {
  return `${prefix}-${String(index).padStart(6, '0')}`;
}

function ensureDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

function writeSecret(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, path);
}

/** The hub's CA, trusted only because it hashes to the pin in the token (as the real agent does). */
export async function fetchPinnedCa(
  gatewayUrl: string,
  token: string | undefined,
  signal?: AbortSignal,
): Promise<string> {
  const res = await httpsJson('GET', `${gatewayUrl}/cacerts`, { insecure: true, signal });
  if (res.status !== 200) throw new Error(`${gatewayUrl}/cacerts answered HTTP ${res.status}`);
  if (token) {
    const pin = parseJoinToken(token).caPin;
    const actual = caPin(res.text);
    if (actual !== pin) throw new Error(`hub CA hash ${actual} does not match the token's pin ${pin}`);
  }
  return res.text;
}

export function hubDirFor(identityDir: string, caPem: string): string {
  return join(identityDir, 'hubs', caPin(caPem).slice(0, 16));
}

/** Forgets every stored certificate for this hub (the keys stay). */
export function forgetHub(identityDir: string, caPem: string): void {
  rmSync(hubDirFor(identityDir, caPem), { recursive: true, force: true });
}

export function forgetIdentity(identityDir: string, caPem: string, index: number): void {
  rmSync(join(hubDirFor(identityDir, caPem), `${index}.json`), { force: true });
}

export async function loadOrMakeKey(
  identityDir: string,
  index: number,
): Promise<{ keyPem: string; generated: boolean }> {
  const dir = join(identityDir, 'keys');
  const path = join(dir, `${index}.key`);
  if (existsSync(path)) return { keyPem: readFileSync(path, 'utf8'), generated: false };
  const { privateKeyPem } = await generateKeyPair();
  ensureDir(dir);
  writeSecret(path, privateKeyPem);
  return { keyPem: privateKeyPem, generated: true };
}

/**
 * Loads or makes identities for agents [first, first+count) in two phases, so each is measured on its
 * own: keys (cached, or made on the thread pool), then joins (stored, or POST /v1/join with
 * `joinConcurrency` in flight).
 */
export async function prepareIdentities(
  src: IdentitySource,
  caPem: string,
  first: number,
  count: number,
): Promise<{ identities: SimIdentity[]; report: PrepareReport }> {
  const started = Date.now();
  const hubDir = hubDirFor(src.identityDir, caPem);
  ensureDir(hubDir);
  const report: PrepareReport = {
    count,
    keysGenerated: 0,
    keysLoaded: 0,
    keygenMs: 0,
    joined: 0,
    reused: 0,
    failed: 0,
    errors: [],
    wallMs: 0,
    joinWallMs: 0,
    joinLatenciesMs: [],
  };
  const fail = (index: number, err: unknown): void => {
    report.failed++;
    if (report.errors.length < 10) report.errors.push(`agent ${index}: ${(err as Error).message}`);
  };
  const keys = new Map<number, string>();
  await pool(count, KEYGEN_CONCURRENCY, src.signal, async (k) => {
    const index = first + k;
    try {
      const { keyPem, generated } = await loadOrMakeKey(src.identityDir, index);
      keys.set(index, keyPem);
      if (generated) report.keysGenerated++;
      else report.keysLoaded++;
    } catch (err) {
      fail(index, err);
    }
  });
  report.keygenMs = Date.now() - started;

  const identities: SimIdentity[] = [];
  const agent = new HttpsAgent({ keepAlive: true, maxSockets: src.joinConcurrency, ca: caPem });
  let firstJoin = 0;
  let lastJoin = 0;
  try {
    await pool(count, src.joinConcurrency, src.signal, async (k) => {
      const index = first + k;
      const keyPem = keys.get(index);
      if (keyPem === undefined) return;
      try {
        const stored = join(hubDir, `${index}.json`);
        if (existsSync(stored)) {
          const s = JSON.parse(readFileSync(stored, 'utf8')) as Omit<SimIdentity, 'index' | 'keyPem'>;
          identities.push({ index, keyPem, ...s });
          report.reused++;
          return;
        }
        if (!src.token) throw new Error(`no stored identity for agent ${index} and no join token`);
        const nodeName = nodeNameFor(src.namePrefix, index);
        const t0 = Date.now();
        firstJoin ||= t0;
        const joined = await joinHub(src, agent, keyPem, nodeName, index);
        lastJoin = Date.now();
        report.joinLatenciesMs.push(lastJoin - t0);
        writeSecret(
          stored,
          JSON.stringify({
            nodeId: joined.nodeId,
            nodeName: joined.nodeName,
            pool: joined.pool,
            certPem: joined.certPem,
          }),
        );
        identities.push({
          index,
          keyPem,
          nodeId: joined.nodeId,
          nodeName: joined.nodeName,
          pool: joined.pool,
          certPem: joined.certPem,
        });
        report.joined++;
      } catch (err) {
        fail(index, err);
      }
    });
  } finally {
    agent.destroy();
  }
  identities.sort((a, b) => a.index - b.index);
  report.wallMs = Date.now() - started;
  report.joinWallMs = lastJoin - firstJoin;
  return { identities, report };
}

/** Key generation is CPU-bound on libuv's thread pool (4 threads by default). */
const KEYGEN_CONCURRENCY = 4;

/** Runs fn(0..count-1) with at most `concurrency` in flight. */
async function pool(
  count: number,
  concurrency: number,
  signal: AbortSignal | undefined,
  fn: (k: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count && !signal?.aborted) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, worker));
}

interface JoinAnswer {
  nodeId: string;
  nodeName: string;
  pool: string;
  certPem: string;
}

async function joinHub(
  src: IdentitySource,
  agent: HttpsAgent,
  keyPem: string,
  nodeName: string,
  index: number,
): Promise<JoinAnswer> {
  const csr = createCsr(keyPem, nodeName);
  const body = {
    token: src.token,
    csr,
    nodeName,
    pool: src.pool,
    agentVersion: 'simulator',
    facts: {
      hostname: nodeName,
      os: 'atoll simulator',
      kernel: release(),
      arch: ARCH[arch()] ?? arch(),
      cpus: 2,
      memoryBytes: 4 * 1024 ** 3,
      addresses: [`10.${200 + ((index >> 16) & 0x3f)}.${(index >> 8) & 0xff}.${index & 0xff}`],
      bootId: BOOT_ID,
    },
  };
  // Rate limiting (429) is retried after the hub's retry-after, a bounded number of times.
  for (let attempt = 0; attempt < 5; attempt++) {
    const res = await httpsJson('POST', `${src.gatewayUrl}/v1/join`, { agent, body, signal: src.signal });
    if (res.status === 201) return JSON.parse(res.text) as JoinAnswer;
    if (res.status === 429) {
      await new Promise((r) => setTimeout(r, Math.min(10_000, 1000 * Number(res.retryAfter ?? 1))));
      continue;
    }
    throw new Error(`join refused: HTTP ${res.status} ${res.text.slice(0, 300)}`);
  }
  throw new Error('join still rate-limited after 5 attempts');
}

export interface HttpsAnswer {
  status: number;
  text: string;
  retryAfter?: string;
}

export function httpsJson(
  method: string,
  url: string,
  opts: {
    agent?: HttpsAgent;
    ca?: string;
    insecure?: boolean;
    body?: unknown;
    bearer?: string;
    signal?: AbortSignal;
    timeoutMs?: number;
  } = {},
): Promise<HttpsAnswer> {
  const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        agent: opts.agent,
        ca: opts.ca,
        rejectUnauthorized: !opts.insecure,
        timeout: opts.timeoutMs ?? 30_000,
        signal: opts.signal,
        headers: {
          ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
          ...(opts.bearer ? { authorization: `Bearer ${opts.bearer}` } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            text: Buffer.concat(chunks).toString('utf8'),
            retryAfter: res.headers['retry-after'] as string | undefined,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`${method} ${url}: no answer within ${opts.timeoutMs ?? 30_000} ms`)),
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Creates a reusable join token through the admin API. */
export async function createReusableToken(
  apiUrl: string,
  caPem: string,
  adminToken: string,
  opts: { pool?: string; ttl?: string } = {},
): Promise<string> {
  const res = await httpsJson('POST', `${apiUrl}/v1/tokens`, {
    ca: caPem,
    bearer: adminToken,
    body: { pool: opts.pool ?? 'default', ttl: opts.ttl ?? '2h', reusable: true, description: 'agent simulator' },
  });
  if (res.status !== 201) throw new Error(`creating a join token failed: HTTP ${res.status} ${res.text.slice(0, 300)}`);
  return (JSON.parse(res.text) as { token: string }).token;
}
