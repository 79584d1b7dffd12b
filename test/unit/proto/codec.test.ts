// proto/codec.ts: envelopes round-trip, frames are bounded both ways, and anything malformed,
// unknown or of another protocol version is refused with a ProtocolError code (never a crash).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeFrame,
  encodeFrame,
  MAX_FRAME_BYTES,
  PAYLOAD_KINDS,
  PROTOCOL_VERSION,
  ProtocolError,
  type Envelope,
} from '../../../proto/index.js';

function expectProtocolError(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ProtocolError, `a ProtocolError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (message) assert.match(err.message, message);
    return true;
  });
}

const base = { protocolVersion: PROTOCOL_VERSION, messageId: 17, sentAtMs: 1_700_000_000_123 };

const SAMPLES: Record<(typeof PAYLOAD_KINDS)[number], Envelope> = {
  hello: {
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
        addresses: ['10.0.0.1', 'fe80::1'],
        bootId: 'b',
      },
      completedCommandIds: ['c1', 'c2'],
    },
  },
  welcome: {
    ...base,
    inReplyTo: 3,
    welcome: {
      nodeId: 'nabc',
      nodeName: 'h1',
      pool: 'default',
      heartbeatIntervalMs: 10_000,
      hubTimeMs: 1_700_000_000_999,
      hubVersion: '0.1.0',
    },
  },
  health: {
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
  command: {
    ...base,
    command: { id: 'cmd-1', action: 'restart-k3s', args: { reason: 'test', x: 'y' }, deadlineMs: 1_700_000_060_000 },
  },
  commandResult: { ...base, commandResult: { commandId: 'cmd-1', ok: false, errorCode: 'E', message: 'failed' } },
  certRenewRequest: {
    ...base,
    certRenewRequest: { csrPem: '-----BEGIN CERTIFICATE REQUEST-----\nabc\n-----END CERTIFICATE REQUEST-----\n' },
  },
  certRenewResponse: { ...base, certRenewResponse: { certPem: 'pem', errorCode: '', message: '' } },
  close: { ...base, close: { code: 'FRAME_MALFORMED', reason: 'why' } },
  ping: { ...base, ping: { nonce: 2 ** 40 } },
  pong: { ...base, pong: { nonce: 7 } },
  k3sAssignment: {
    ...base,
    k3sAssignment: {
      serverUrl: 'https://10.0.0.1:6443',
      token: 'K10abc::node:secret',
      version: 'v1.31.0+k3s1',
      nodeName: 'h1',
      labels: { 'atoll.dev/pool': 'default' },
      taints: ['dedicated=gpu:NoSchedule'],
      artifactPath: '/v1/artifacts/k3s/v1.31.0+k3s1/k3s-arm64',
      artifactSha256: 'ab'.repeat(32),
      nodeExternalIp: '203.0.113.7',
      disabledReason: '',
    },
  },
};

/** Reads `actual` in the shape of `expected`; proto3 defaults (false, 0, '') live on the prototype. */
function readLike(actual: unknown, expected: unknown): unknown {
  if (expected === null || typeof expected !== 'object' || Array.isArray(expected)) return actual;
  const a = (actual ?? {}) as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(expected).map((k) => [k, readLike(a[k], (expected as Record<string, unknown>)[k])]),
  );
}

test('every payload kind round-trips, with 64-bit fields as plain numbers', () => {
  for (const kind of PAYLOAD_KINDS) {
    const env = SAMPLES[kind];
    const frame = decodeFrame(encodeFrame(env));
    assert.equal(frame.payload, kind);
    assert.equal(frame.protocolVersion, PROTOCOL_VERSION);
    assert.equal(frame.messageId, 17);
    assert.equal(frame.sentAtMs, 1_700_000_000_123);
    assert.equal(typeof frame.sentAtMs, 'number', 'int64 decodes as a number, not a Long');
    assert.deepEqual(readLike(frame[kind], env[kind]), env[kind], `${kind} payload`);
  }
  const h = decodeFrame(encodeFrame(SAMPLES.health)).health;
  assert.equal(h?.memoryTotalBytes, 2 ** 40);
  assert.equal(typeof h?.memoryTotalBytes, 'number');
});

/** A hello envelope whose encoding is exactly `size` bytes. */
function envelopeOfSize(size: number): Envelope {
  const probe = (n: number): number => encodeFrame({ ...base, hello: { nodeId: 'x'.repeat(n) } }).byteLength;
  // The overhead changes only with the varint length of the string: search around size - overhead.
  for (let n = size - 32; n <= size; n++)
    if (n >= 0 && probe(n) === size) return { ...base, hello: { nodeId: 'x'.repeat(n) } };
  throw new Error(`no envelope of exactly ${size} bytes`);
}

test('frames up to MAX_FRAME_BYTES pass; one byte more is FRAME_TOO_LARGE on both sides', () => {
  assert.equal(MAX_FRAME_BYTES, 1024 * 1024);
  const atLimit = encodeFrame(envelopeOfSize(MAX_FRAME_BYTES));
  assert.equal(atLimit.byteLength, MAX_FRAME_BYTES);
  assert.equal(decodeFrame(atLimit).payload, 'hello');

  expectProtocolError(
    () => encodeFrame(envelopeOfSize(MAX_FRAME_BYTES + 1)),
    'FRAME_TOO_LARGE',
    /1048577 bytes exceeds 1048576/,
  );
  // Decoding checks the size before parsing anything.
  expectProtocolError(() => decodeFrame(new Uint8Array(MAX_FRAME_BYTES + 1)), 'FRAME_TOO_LARGE');
  const big = new Uint8Array(MAX_FRAME_BYTES + 100);
  big.set(atLimit);
  expectProtocolError(() => decodeFrame(big), 'FRAME_TOO_LARGE');
});

test('malformed frames: garbage, truncation, bad tags, wrong wire types', () => {
  const good = encodeFrame(SAMPLES.health);
  const cases: [string, Uint8Array][] = [
    ['all 0xff', new Uint8Array(32).fill(0xff)],
    ['text', new TextEncoder().encode('this is not a protobuf frame')],
    ['field number 0', new Uint8Array(8)],
    ['truncated by 3', good.subarray(0, good.length - 3)],
    ['truncated in a header', good.subarray(0, 5)],
    ['length beyond the end', Uint8Array.from([0x52, 0x7f, 0x01])],
  ];
  for (const [what, bytes] of cases) {
    assert.throws(
      () => decodeFrame(bytes),
      (err: unknown) => {
        assert.ok(err instanceof ProtocolError, `${what}: a ProtocolError`);
        assert.equal(err.code, 'FRAME_MALFORMED', `${what}: ${err.message}`);
        assert.match(err.message, /^malformed frame: /);
        return true;
      },
    );
  }
});

test('a frame with no known payload is FRAME_UNKNOWN (empty, header only, or a newer payload)', () => {
  expectProtocolError(() => decodeFrame(new Uint8Array(0)), 'FRAME_UNKNOWN');
  expectProtocolError(() => decodeFrame(encodeFrame({ ...base })), 'FRAME_UNKNOWN', /no known payload/);
  // Field 99, length-delimited: a payload a newer peer might send. Unknown fields are skipped.
  const header = encodeFrame({ ...base });
  const future = new Uint8Array([...header, 0x9a, 0x06, 0x02, 0x08, 0x01]);
  expectProtocolError(() => decodeFrame(future), 'FRAME_UNKNOWN');
});

test('another protocol version is PROTOCOL_VERSION, and says which', () => {
  expectProtocolError(
    () => decodeFrame(encodeFrame({ ...SAMPLES.ping, protocolVersion: 2 })),
    'PROTOCOL_VERSION',
    /version 2 is not supported \(want 1\)/,
  );
  expectProtocolError(() => decodeFrame(encodeFrame({ ...SAMPLES.ping, protocolVersion: 0 })), 'PROTOCOL_VERSION');
  const { protocolVersion: _omit, ...noVersion } = SAMPLES.ping;
  expectProtocolError(() => decodeFrame(encodeFrame(noVersion)), 'PROTOCOL_VERSION');
});
