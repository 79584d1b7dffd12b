// The rate limit for warning lines outsiders can cause (hub/gateway/log-limiter.ts), on an injected clock.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { LogLimiter, createRefusalLog } from '../../../hub/gateway/log-limiter.js';
import { createLogger } from '../../../hub/logger.js';

test('per key: the first lines of a window pass, the rest are counted and summed up when it ends', () => {
  const clock = { now: 0 };
  const l = new LogLimiter({ windowMs: 60_000, perKey: 5, total: 50, maxKeys: 100, now: () => clock.now });
  const allowed = Array.from({ length: 500 }, () => l.take('UNAUTHORIZED 10.0.0.1').allowed).filter(Boolean).length;
  assert.equal(allowed, 5);
  assert.equal(l.take('FORBIDDEN 10.0.0.1').allowed, true, 'another key has its own budget');
  clock.now += 60_000;
  const next = l.take('UNAUTHORIZED 10.0.0.1');
  assert.equal(next.allowed, true, 'a new window starts afresh');
  assert.deepEqual(next.ended, {
    suppressed: 495,
    windowMs: 60_000,
    top: [{ key: 'UNAUTHORIZED 10.0.0.1', suppressed: 495 }],
  });
  assert.equal(l.roll(), undefined, 'nothing held back in the new window');
});

test('in all: many remotes together get at most `total` lines per window, and memory stays bounded', () => {
  const l = new LogLimiter({ windowMs: 60_000, perKey: 5, total: 50, maxKeys: 100, now: () => 0 });
  let allowed = 0;
  for (let i = 0; i < 5000; i++) if (l.take(`UNAUTHORIZED 10.0.${i >> 8}.${i & 255}`).allowed) allowed++;
  assert.equal(allowed, 50);
  const s = l.roll();
  assert.equal(s?.suppressed, 4950);
  assert.ok((s?.top.length ?? 0) <= 5);
});

test('createRefusalLog: 500 refusals write 5 lines and one summary line at stop', () => {
  const lines: Array<{ msg: string; suppressed?: number }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      cb();
    },
  });
  const log = createRefusalLog(createLogger('info', sink));
  for (let i = 0; i < 500; i++) log.refused({ code: 'UNAUTHORIZED', remote: '10.0.0.1', reason: 'no certificate' });
  log.stop();
  assert.equal(lines.filter((l) => l.msg === 'agent connection refused').length, 5);
  const summary = lines.filter((l) => /suppressed/.test(l.msg));
  assert.equal(summary.length, 1);
  assert.equal(summary[0].suppressed, 495);
});
