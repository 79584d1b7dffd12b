// Helpers for the bad-input integration tests (test/integration/bad-*.test.ts): raw gateway calls,
// hand-made CSRs and join requests, a raw mTLS WebSocket "agent" that speaks the protocol frame by
// frame, and the invariants every bad-input case checks afterwards (nothing lost, hub serving).
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import WebSocket from 'ws';
import { createCsr } from '../../certs/csr.js';
import { generateKeyPair } from '../../certs/keys.js';
import type { CaMaterial } from '../../certs/ca.js';
import { decodeFrame, encodeFrame, PROTOCOL_VERSION, type Envelope, type Frame } from '../../proto/index.js';
import { waitFor, type HubHandle, type Proc } from './processes.js';
import { hubCaMaterial } from './hub-secrets.js';

export interface ErrorBody {
  error: { code: string; message: string };
}

export interface GatewayResult<T = unknown> {
  status: number;
  headers: IncomingHttpHeaders;
  body: T;
}

/**
 * One HTTPS call to the hub gateway, on its own connection (no keep-alive left behind).
 * `localAddress` picks the source address (any of 127.0.0.0/8 on Linux loopback).
 */
export function gatewayCall<T = unknown>(
  hub: HubHandle,
  method: string,
  path: string,
  body?: unknown,
  localAddress?: string,
): Promise<GatewayResult<T>> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, hub.gatewayUrl),
      {
        method,
        ca: hub.caPem(),
        agent: false,
        timeout: 10_000,
        localAddress,
        headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            // not JSON: keep the text
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed as T });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('gateway call timed out')));
    req.on('error', reject);
    req.end(payload);
  });
}

export interface KeyAndCsr {
  keyPem: string;
  publicKeyPem: string;
  csr: string;
}

export async function keyAndCsr(commonName: string): Promise<KeyAndCsr> {
  const { privateKeyPem, publicKeyPem } = await generateKeyPair();
  return { keyPem: privateKeyPem, publicKeyPem, csr: createCsr(privateKeyPem, commonName) };
}

/** The body of POST /v1/join as the agent sends it, for a node called `name`. */
export function joinBody(
  token: string,
  csr: string,
  name: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    token,
    csr,
    nodeName: name,
    agentVersion: 'bad-input-test',
    facts: {
      hostname: name,
      os: 'test',
      kernel: 'test',
      arch: 'amd64',
      cpus: 1,
      memoryBytes: 1024,
      addresses: ['127.0.0.1'],
      bootId: '',
    },
    ...extra,
  };
}

export interface JoinedNode {
  nodeId: string;
  nodeName: string;
  certPem: string;
  keyPem: string;
}

/** Joins a node over raw HTTPS with a key held here, so tests can speak for it on the WebSocket. */
export async function rawJoin(hub: HubHandle, token: string, name: string): Promise<JoinedNode> {
  const k = await keyAndCsr(name);
  const res = await gatewayCall<{ nodeId: string; nodeName: string; certPem: string }>(
    hub,
    'POST',
    '/v1/join',
    joinBody(token, k.csr, name),
  );
  assert.equal(res.status, 201, `join of ${name} should succeed: ${JSON.stringify(res.body)}`);
  return { nodeId: res.body.nodeId, nodeName: res.body.nodeName, certPem: res.body.certPem, keyPem: k.keyPem };
}

export interface TokenInfo {
  id: string;
  token: string;
  uses: number;
  maxUses: number | null;
  expiresAt: string;
}

export async function createToken(hub: HubHandle, body: Record<string, unknown> = {}): Promise<TokenInfo> {
  const res = await hub.api<TokenInfo>('POST', '/v1/tokens', { ttl: '10m', ...body });
  assert.equal(res.status, 201, `token create: ${JSON.stringify(res.body)}`);
  return res.body;
}

export async function tokenUses(hub: HubHandle, id: string): Promise<number> {
  const res = await hub.api<{ items: TokenInfo[] }>('GET', '/v1/tokens?all=true');
  assert.equal(res.status, 200);
  const t = res.body.items.find((x) => x.id === id);
  assert.ok(t, `token ${id} is listed`);
  return t.uses;
}

export interface NodeView {
  id: string;
  name: string;
  state: string;
  connected: boolean;
  connectedAt: string | null;
}

export async function listNodes(hub: HubHandle): Promise<NodeView[]> {
  const res = await hub.api<{ items: NodeView[] }>('GET', '/v1/nodes');
  assert.equal(res.status, 200);
  return res.body.items;
}

export async function nodeIds(hub: HubHandle): Promise<string[]> {
  return (await listNodes(hub)).map((n) => n.id).sort();
}

export async function eventCount(hub: HubHandle, type: string): Promise<number> {
  const res = await hub.api<{ items: unknown[] }>('GET', `/v1/events?type=${encodeURIComponent(type)}&limit=1000`);
  assert.equal(res.status, 200);
  return res.body.items.length;
}

/** Waits until the node called `name` is connected and ready (or degraded: a busy test host). */
export async function waitForConnectedNode(hub: HubHandle, name: string, timeoutMs = 20_000): Promise<NodeView> {
  return waitFor(
    `node ${name} connected and ready`,
    async () => {
      const n = (await listNodes(hub)).find((x) => x.name === name);
      return n && n.connected && (n.state === 'ready' || n.state === 'degraded') ? n : undefined;
    },
    timeoutMs,
    100,
  );
}

/** A running agent that bad input must leave alone: same connection, same state, hub healthy. */
export async function assertUnharmed(hub: HubHandle, witness: NodeView, expectedNodeIds?: string[]): Promise<void> {
  const health = await hub.api('GET', '/healthz');
  assert.equal(health.status, 200, 'the hub keeps serving /healthz');
  const cacerts = await gatewayCall(hub, 'GET', '/cacerts');
  assert.equal(cacerts.status, 200, 'the gateway keeps serving /cacerts');
  const nodes = await listNodes(hub);
  const w = nodes.find((n) => n.id === witness.id);
  assert.ok(w, 'the connected agent is still registered');
  assert.equal(w.connected, true, 'the connected agent stays connected');
  assert.equal(w.connectedAt, witness.connectedAt, 'the connected agent was not disconnected or replaced');
  assert.equal(w.state, witness.state, 'the connected agent keeps its state');
  if (expectedNodeIds)
    assert.deepEqual(nodes.map((n) => n.id).sort(), [...expectedNodeIds].sort(), 'no node was created or lost');
}

export function assertError(res: GatewayResult, status: number, code: string, message?: RegExp): void {
  const body = res.body as ErrorBody;
  assert.equal(res.status, status, `HTTP status (body: ${JSON.stringify(res.body)})`);
  assert.equal(body?.error?.code, code, `error code (body: ${JSON.stringify(res.body)})`);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.length > 10, 'the error has a message');
  if (message) assert.match(body.error.message, message);
}

/** The hub CA from its store (tests run as the hub's user). */
export function hubCa(hub: HubHandle): CaMaterial {
  return hubCaMaterial(hub.dataDir);
}

export type WsOutcome =
  | { kind: 'open'; link: RawLink }
  | { kind: 'refused'; status: number; body: unknown }
  | { kind: 'error'; error: Error };

/** Opens /v1/agent/connect with the given client certificate (or none), as an agent would. */
export function wsConnect(hub: HubHandle, tls: { certPem?: string; keyPem?: string } = {}): Promise<WsOutcome> {
  const url = `${hub.gatewayUrl.replace(/^https:/, 'wss:')}/v1/agent/connect`;
  const ws = new WebSocket(url, {
    ca: hub.caPem(),
    cert: tls.certPem,
    key: tls.keyPem,
    perMessageDeflate: false,
    handshakeTimeout: 5_000,
    maxPayload: 2 * 1024 * 1024,
  });
  ws.binaryType = 'nodebuffer';
  const link = new RawLink(ws);
  return new Promise((resolve) => {
    let settled = false;
    const settle = (o: WsOutcome): void => {
      if (!settled) {
        settled = true;
        resolve(o);
      }
    };
    ws.on('open', () => settle({ kind: 'open', link }));
    ws.on('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // keep the text
        }
        settle({ kind: 'refused', status: res.statusCode ?? 0, body });
        ws.terminate();
      });
    });
    ws.on('error', (error: Error) => settle({ kind: 'error', error }));
    ws.on('close', () => settle({ kind: 'error', error: new Error('closed before open') }));
  });
}

/** A raw agent link: every frame the hub sends is decoded and kept; close code and reason recorded. */
export class RawLink {
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private nextId = 1;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      try {
        const f = decodeFrame(data);
        this.frames.push(f);
        // Like a real agent: a removed node winds down and hangs up; the hub waits for that.
        if (f.payload === 'close' && f.close?.code === 'NODE_REMOVED') ws.close(1000, 'removed');
      } catch {
        // the hub never sends bad frames; a test that cares checks this.frames
      }
    });
    // Errors (EPIPE after the hub cut us off, ...) end in 'close'; the test reads the code there.
    ws.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      ws.on('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })),
    );
  }

  send(payload: Omit<Envelope, 'protocolVersion' | 'messageId' | 'sentAtMs'>): void {
    this.ws.send(
      encodeFrame({ protocolVersion: PROTOCOL_VERSION, messageId: this.nextId++, sentAtMs: Date.now(), ...payload }),
    );
  }

  sendRaw(data: Buffer | string, binary = true): void {
    this.ws.send(data, { binary });
  }

  hello(nodeId: string): void {
    this.send({
      hello: {
        nodeId,
        agentVersion: 'bad-input-test',
        facts: { hostname: 'raw-link', arch: 'amd64', cpus: 1, addresses: ['127.0.0.1'] },
      },
    });
  }

  waitFrame(kind: Frame['payload'], timeoutMs = 5_000): Promise<Frame> {
    return waitFor(`a ${kind} frame from the hub`, () => this.frames.find((f) => f.payload === kind), timeoutMs, 20);
  }

  /** The hub's Close envelope, if it sent one. */
  closeFrame(): { code: string; reason: string } | undefined {
    const f = this.frames.find((x) => x.payload === 'close');
    return f ? { code: f.close?.code ?? '', reason: f.close?.reason ?? '' } : undefined;
  }

  async closedWithin(timeoutMs = 5_000): Promise<{ code: number; reason: string }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the hub did not close the connection within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
      this.ws.terminate();
    }
  }

  terminate(): void {
    this.ws.terminate();
  }
}

/** Connects with a node's certificate and completes hello/welcome. */
export async function openLink(hub: HubHandle, node: JoinedNode): Promise<RawLink> {
  const o = await wsConnect(hub, { certPem: node.certPem, keyPem: node.keyPem });
  assert.equal(
    o.kind,
    'open',
    `connect as ${node.nodeName}: ${JSON.stringify(o.kind === 'refused' ? o.body : o.kind === 'error' ? o.error.message : '')}`,
  );
  const link = (o as { link: RawLink }).link;
  link.hello(node.nodeId);
  const welcome = await link.waitFrame('welcome');
  assert.equal(welcome.welcome?.nodeId, node.nodeId);
  return link;
}

/** Stops a process by pid: SIGTERM, then SIGKILL if it lingers. */
export async function stopProc(proc: Proc | undefined, graceMs = 5_000): Promise<void> {
  if (!proc) return;
  const { child } = proc;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  try {
    await proc.kill('SIGTERM');
  } finally {
    clearTimeout(timer);
  }
}

/** Resident set size of a process in bytes (Linux /proc), or undefined elsewhere. */
export function rssBytes(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
