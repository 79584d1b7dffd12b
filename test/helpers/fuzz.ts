// A small seeded fuzzer for the two doors strangers knock on: the protobuf frame decoder (and the hub
// session behind it) and POST /v1/join. Inputs are mutations of valid envelopes and join bodies,
// random bytes and oversize lengths. A "crash" is anything but a clear refusal: a decoder error that
// is not a ProtocolError, a 5xx or non-JSON answer from the gateway, a hang, or a hub that stops.
import { Agent, request } from 'node:https';
import {
  decodeFrame,
  encodeFrame,
  MAX_FRAME_BYTES,
  PAYLOAD_KINDS,
  PROTOCOL_VERSION,
  ProtocolError,
  type Envelope,
} from '../../proto/index.js';
import { HUB_ERRORS } from '../../hub/errors.js';

export type Rng = () => number;

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function rng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const int = (r: Rng, n: number): number => Math.floor(r() * n);
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[int(r, xs.length)];

export interface Crash {
  target: string;
  caseNo: number;
  kind: string;
  what: string;
  /** The input, base64 (frames) or text (join bodies), cut to 2 KiB. */
  input: string;
}

// ---------------------------------------------------------------------------------------------
// Frames

const base = { protocolVersion: PROTOCOL_VERSION, messageId: 17, sentAtMs: 1_700_000_000_123 };
export const SAMPLE_ENVELOPES: Envelope[] = [
  {
    ...base,
    hello: {
      nodeId: 'nabc',
      agentVersion: '0.1.0',
      facts: {
        hostname: 'h1',
        os: 'Debian 12',
        kernel: '6.1',
        arch: 'arm64',
        cpus: 4,
        memoryBytes: 8 * 2 ** 30,
        addresses: ['10.0.0.1'],
        bootId: 'b',
      },
      completedCommandIds: ['c1'],
    },
  },
  {
    ...base,
    health: {
      cpuPercent: 12.5,
      memoryTotalBytes: 2 ** 40,
      memoryUsedBytes: 2 ** 33,
      diskTotalBytes: 2 ** 41,
      diskUsedBytes: 5,
      load1: 0.5,
      load5: 0.25,
      load15: 0.125,
      uptimeSeconds: 86_400,
      k3s: { state: 'running', version: 'v1.31.0+k3s1', kubeletHealthy: true, lastLogLines: ['a', 'b'], restarts: 2 },
    },
  },
  { ...base, commandResult: { commandId: 'cmd-1', ok: false, errorCode: 'E', message: 'failed' } },
  {
    ...base,
    certRenewRequest: { csrPem: '-----BEGIN CERTIFICATE REQUEST-----\nabc\n-----END CERTIFICATE REQUEST-----\n' },
  },
  { ...base, close: { code: 'FRAME_MALFORMED', reason: 'why' } },
  { ...base, ping: { nonce: 2 ** 40 } },
  { ...base, pong: { nonce: 7 } },
  { ...base, command: { id: 'cmd-1', action: 'restart-k3s', args: { reason: 'x' }, deadlineMs: 1_700_000_060_000 } },
  {
    ...base,
    welcome: {
      nodeId: 'nabc',
      nodeName: 'h1',
      pool: 'default',
      heartbeatIntervalMs: 10_000,
      hubTimeMs: 1,
      hubVersion: '0.1.0',
    },
  },
];
const SAMPLE_BYTES = SAMPLE_ENVELOPES.map((e) => Buffer.from(encodeFrame(e)));

/** A varint as protobuf writes it (for forged length prefixes). */
function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push(v % 128 | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

/** One fuzz frame: a mutated valid envelope, random bytes, or a forged oversize length. */
export function fuzzFrame(r: Rng, allowHuge = true): { kind: string; bytes: Buffer } {
  const choice = int(r, 12);
  const src = Buffer.from(pick(r, SAMPLE_BYTES));
  switch (choice) {
    case 0:
      return { kind: 'random', bytes: Buffer.from(Array.from({ length: int(r, 64) }, () => int(r, 256))) };
    case 1: {
      // A length-delimited field whose declared length is far beyond the data (or 2^31+).
      const field = pick(r, [0x0a, 0x12, 0x22, 0x52, 0x5a, 0x62]);
      return {
        kind: 'oversize-length',
        bytes: Buffer.concat([
          varint(0x08),
          varint(PROTOCOL_VERSION),
          Buffer.from([field]),
          varint(pick(r, [2 ** 20, 2 ** 31 - 1, 2 ** 32 + 5, 2 ** 53 - 1, 300])),
          Buffer.from('abc'),
        ]),
      };
    }
    case 2: {
      if (!allowHuge) return { kind: 'truncated', bytes: src.subarray(0, int(r, src.length)) };
      return { kind: 'huge-frame', bytes: Buffer.alloc(MAX_FRAME_BYTES + 1 + int(r, 100), int(r, 256)) };
    }
    case 3:
      return { kind: 'truncated', bytes: src.subarray(0, int(r, src.length)) };
    case 4: {
      const b = Buffer.from(src);
      const flips = 1 + int(r, 4);
      for (let i = 0; i < flips; i++) b[int(r, b.length)] ^= 1 << int(r, 8);
      return { kind: 'bit-flip', bytes: b };
    }
    case 5: {
      const b = Buffer.from(src);
      for (let i = 0; i < 1 + int(r, 6); i++) b[int(r, b.length)] = int(r, 256);
      return { kind: 'byte-set', bytes: b };
    }
    case 6: {
      const at = int(r, src.length);
      return {
        kind: 'insert',
        bytes: Buffer.concat([
          src.subarray(0, at),
          Buffer.from(Array.from({ length: 1 + int(r, 8) }, () => int(r, 256))),
          src.subarray(at),
        ]),
      };
    }
    case 7: {
      const at = int(r, src.length);
      return { kind: 'delete', bytes: Buffer.concat([src.subarray(0, at), src.subarray(at + 1 + int(r, 4))]) };
    }
    case 8:
      return { kind: 'concat', bytes: Buffer.concat([src, pick(r, SAMPLE_BYTES)]) };
    case 9: {
      // Deep nesting: a group/message start repeated.
      const depth = 1 + int(r, 2000);
      return { kind: 'nesting', bytes: Buffer.concat([Buffer.alloc(depth, pick(r, [0x0b, 0x12, 0x1a])), src]) };
    }
    case 10: {
      // Unknown field numbers and wire types appended (varints, fixed, groups).
      const tail = Buffer.from(
        Array.from({ length: 2 + int(r, 12) }, () =>
          pick(r, [0xf8, 0xff, 0x07, 0x80, 0x01, 0x0c, 0x0d, 0x0e, 0x0f, 0x1f]),
        ),
      );
      return { kind: 'unknown-fields', bytes: Buffer.concat([src, tail]) };
    }
    default: {
      // A valid envelope with odd values: other protocol versions, NaN-ish doubles, empty payloads.
      const e = {
        ...pick(r, SAMPLE_ENVELOPES),
        protocolVersion: pick(r, [0, 1, 2, 255, 2 ** 31 - 1]),
        messageId: pick(r, [0, 1, 2 ** 53 - 1, -1]),
      } as Envelope;
      try {
        return { kind: 'odd-values', bytes: Buffer.from(encodeFrame(e)) };
      } catch {
        return { kind: 'odd-values', bytes: src };
      }
    }
  }
}

const PROTOCOL_CODES = new Set(['FRAME_TOO_LARGE', 'FRAME_MALFORMED', 'FRAME_UNKNOWN', 'PROTOCOL_VERSION']);

/** undefined when decodeFrame answered sanely (a known frame or a ProtocolError); else what went wrong. */
export function checkDecode(bytes: Uint8Array, maxMs = 250): string | undefined {
  const started = performance.now();
  try {
    const f = decodeFrame(bytes);
    if (!(PAYLOAD_KINDS as readonly string[]).includes(f.payload))
      return `decoded to an unknown payload ${String(f.payload)}`;
  } catch (err) {
    if (!(err instanceof ProtocolError)) return `threw ${(err as Error)?.name}: ${(err as Error)?.message}`;
    if (!PROTOCOL_CODES.has(err.code) || !err.message)
      return `ProtocolError without a clear code or message (${err.code})`;
  }
  const ms = performance.now() - started;
  return ms > maxMs ? `took ${ms.toFixed(0)} ms` : undefined;
}

export function fuzzDecoder(seed: number, cases: number): { tried: number; crashes: Crash[] } {
  const r = rng(seed);
  const crashes: Crash[] = [];
  for (let i = 0; i < cases; i++) {
    const { kind, bytes } = fuzzFrame(r, i % 50 === 0);
    const what = checkDecode(bytes);
    if (what)
      crashes.push({ target: 'decoder', caseNo: i, kind, what, input: bytes.subarray(0, 1536).toString('base64') });
  }
  return { tried: cases, crashes };
}

// ---------------------------------------------------------------------------------------------
// POST /v1/join

export interface JoinSeed {
  token: string;
  csr: string;
}

function mutateString(r: Rng, s: string): string {
  const chars = [...s];
  const op = int(r, 7);
  if (op === 0) return s.slice(0, int(r, s.length + 1));
  if (op === 1) return s + pick(r, ['\u0000', '\uffff', '\ud800', '💥', '%00', '\\', '"', '\n']).repeat(1 + int(r, 4));
  if (op === 2) return s.repeat(1 + int(r, 40));
  if (op === 3 && chars.length) {
    for (let i = 0; i < 1 + int(r, 5); i++) chars[int(r, chars.length)] = String.fromCharCode(int(r, 0x3000));
    return chars.join('');
  }
  if (op === 4) return '';
  if (op === 5) return Array.from({ length: int(r, 300) }, () => String.fromCharCode(32 + int(r, 95))).join('');
  return s.split('').reverse().join('');
}

function mutateCsr(r: Rng, csr: string): string {
  const lines = csr.trim().split('\n');
  const body = lines.slice(1, -1);
  switch (int(r, 8)) {
    case 0:
      return lines.slice(0, 1 + int(r, lines.length)).join('\n');
    case 1: {
      // Flip characters inside the base64: a DER that parses but is wrong, or does not parse.
      const b = [...body.join('')];
      for (let i = 0; i < 1 + int(r, 6); i++)
        b[int(r, b.length)] = pick(r, [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/']);
      return [lines[0], ...(b.join('').match(/.{1,64}/g) ?? []), lines[lines.length - 1]].join('\n');
    }
    case 2:
      return csr.replace('CERTIFICATE REQUEST', pick(r, ['CERTIFICATE', 'PRIVATE KEY', 'X', '']));
    case 3: {
      // Valid base64 of random DER-ish bytes.
      const der = Buffer.from([
        0x30,
        0x82,
        int(r, 256),
        int(r, 256),
        ...Array.from({ length: int(r, 400) }, () => int(r, 256)),
      ]);
      return `-----BEGIN CERTIFICATE REQUEST-----\n${
        der
          .toString('base64')
          .match(/.{1,64}/g)
          ?.join('\n') ?? ''
      }\n-----END CERTIFICATE REQUEST-----\n`;
    }
    case 4:
      return `${csr}${csr}`;
    case 5:
      return csr.replace(/\n/g, '\r\n');
    case 6: {
      // DER truncated in the middle.
      const der = Buffer.from(body.join(''), 'base64');
      const cut = der.subarray(0, int(r, der.length));
      return `-----BEGIN CERTIFICATE REQUEST-----\n${cut.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    }
    default:
      return mutateString(r, csr);
  }
}

const ODD_VALUES: unknown[] = [
  null,
  true,
  0,
  -1,
  1e308,
  '',
  'x',
  [],
  {},
  [1, 2],
  { a: { b: { c: 1 } } },
  '__proto__',
  2 ** 53,
  -0.5,
  'A'.repeat(70_000),
];

/** One join request body (text) and its content type. */
export function fuzzJoinBody(
  r: Rng,
  seedBody: Record<string, unknown>,
): { kind: string; body: string; contentType: string } {
  const choice = int(r, 10);
  const b = structuredClone(seedBody) as Record<string, unknown> & { facts: Record<string, unknown> };
  const json = (kind: string): { kind: string; body: string; contentType: string } => ({
    kind,
    body: JSON.stringify(b),
    contentType: 'application/json',
  });
  switch (choice) {
    case 0:
      b.csr = mutateCsr(r, String(b.csr));
      return json('csr');
    case 1:
      b.csr = mutateCsr(r, String(b.csr));
      return json('csr');
    case 2: {
      const key = pick(r, ['token', 'csr', 'nodeName', 'pool', 'labels', 'agentVersion', 'facts']);
      if (r() < 0.5) delete b[key];
      else b[key] = pick(r, ODD_VALUES);
      return json(`field-${key}`);
    }
    case 3: {
      const key = pick(r, ['hostname', 'os', 'kernel', 'arch', 'cpus', 'memoryBytes', 'addresses', 'bootId']);
      if (r() < 0.3) delete b.facts[key];
      else b.facts[key] = r() < 0.5 ? pick(r, ODD_VALUES) : mutateString(r, String(b.facts[key] ?? ''));
      return json(`facts-${key}`);
    }
    case 4:
      b.nodeName = mutateString(r, String(b.nodeName));
      return json('node-name');
    case 5:
      b.labels = Object.fromEntries(
        Array.from({ length: int(r, 80) }, (_, i) => [mutateString(r, `k${i}`), mutateString(r, 'v')]),
      );
      return json('labels');
    case 6:
      b.token = mutateString(r, String(b.token));
      return json('token');
    case 7: {
      // Broken JSON text.
      const text = JSON.stringify(b);
      const cut = text.slice(0, int(r, text.length));
      return {
        kind: 'json-text',
        body: pick(r, [
          cut,
          `${text}}`,
          text.replace(/"/g, "'"),
          '['.repeat(5000),
          'null',
          '1',
          '"x"',
          '{"a":'.repeat(500),
        ]),
        contentType: 'application/json',
      };
    }
    case 8:
      return {
        kind: 'content-type',
        body: JSON.stringify(b),
        contentType: pick(r, [
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/json; charset=utf-16',
          '',
        ]),
      };
    default:
      b[mutateString(r, 'extra')] = pick(r, ODD_VALUES);
      return json('extra-field');
  }
}

const ERROR_CODES = new Set(Object.keys(HUB_ERRORS));

export interface JoinTarget {
  gatewayUrl: string;
  caPem: string;
}

function post(
  target: JoinTarget,
  agent: Agent,
  body: string,
  contentType: string,
  timeoutMs: number,
): Promise<{ status: number; text: string }> {
  const payload = Buffer.from(body);
  return new Promise((resolve, reject) => {
    const req = request(
      new URL('/v1/join', target.gatewayUrl),
      {
        method: 'POST',
        ca: target.caPem,
        agent,
        timeout: timeoutMs,
        headers: { ...(contentType ? { 'content-type': contentType } : {}), 'content-length': payload.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** What is wrong with one answer of the gateway to a fuzzed join, or undefined when it is a clear answer. */
export function judgeJoinAnswer(status: number, text: string): string | undefined {
  if (status === 201) return undefined; // a mutation that is still a valid join
  let parsed: { error?: { code?: unknown; message?: unknown } } | undefined;
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    return `status ${status} with a body that is not JSON: ${text.slice(0, 200)}`;
  }
  const code = parsed?.error?.code;
  const message = parsed?.error?.message;
  if (typeof code !== 'string' || !ERROR_CODES.has(code))
    return `status ${status} without a known error code: ${text.slice(0, 200)}`;
  if (typeof message !== 'string' || message.length < 5) return `status ${status} ${code} without a message`;
  if (status >= 500) return `server error ${status} ${code}: ${message}`;
  if (status !== HUB_ERRORS[code as keyof typeof HUB_ERRORS]) return `status ${status} does not match ${code}`;
  return undefined;
}

export async function fuzzJoin(
  target: JoinTarget,
  seed: JoinSeed & { name: string },
  opts: { seed: number; cases: number; timeoutMs?: number; concurrency?: number; onCase?: (i: number) => void },
): Promise<{ tried: number; created: number; crashes: Crash[] }> {
  const r = rng(opts.seed);
  const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency ?? 4 });
  const seedBody = {
    token: seed.token,
    csr: seed.csr,
    nodeName: seed.name,
    agentVersion: 'fuzz',
    facts: {
      hostname: seed.name,
      os: 'fuzz',
      kernel: 'fuzz',
      arch: 'amd64',
      cpus: 1,
      memoryBytes: 1024,
      addresses: ['127.0.0.1'],
      bootId: '',
    },
  };
  const bodies = Array.from({ length: opts.cases }, () => fuzzJoinBody(r, seedBody));
  const crashes: Crash[] = [];
  let created = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < bodies.length; i = next++) {
      const c = bodies[i];
      let what: string | undefined;
      try {
        const res = await post(target, agent, c.body, c.contentType, opts.timeoutMs ?? 10_000);
        if (res.status === 201) created++;
        what = judgeJoinAnswer(res.status, res.text);
      } catch (err) {
        what = `no answer: ${(err as Error).message}`;
      }
      if (what) crashes.push({ target: 'join', caseNo: i, kind: c.kind, what, input: c.body.slice(0, 2048) });
      opts.onCase?.(i);
    }
  };
  try {
    await Promise.all(Array.from({ length: opts.concurrency ?? 4 }, worker));
  } finally {
    agent.destroy();
  }
  return { tried: bodies.length, created, crashes };
}
