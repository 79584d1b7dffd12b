// A bounded, seeded fuzz pass (part of npm test): the frame decoder in process, the hub's session
// behind it over a real mTLS WebSocket, and POST /v1/join with mutated JSON and CSRs. Every input must
// get a clear refusal (a ProtocolError code, a close, or a 4xx JSON error), never a crash or a hang.
// Longer passes: node --import tsx test/bench/fuzz.ts --cases N --seed S
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, removeDir, waitFor, type HubHandle } from '../helpers/processes.js';
import { createToken, keyAndCsr, rawJoin, openLink, stopProc, type RawLink } from '../helpers/bad-input.js';
import { fuzzDecoder, fuzzFrame, fuzzJoin, rng } from '../helpers/fuzz.js';

const SEED = Number(process.env.ATOLL_FUZZ_SEED ?? 20261122);
let hub: HubHandle | undefined;
after(async () => {
  await stopProc(hub?.proc, 3_000);
  if (hub) removeDir(hub.dataDir);
});

test('frame decoder: 4000 mutated, random and oversize frames, each decoded or refused with a ProtocolError', () => {
  const started = Date.now();
  const { tried, crashes } = fuzzDecoder(SEED, 4000);
  assert.equal(tried, 4000);
  assert.deepEqual(crashes, [], `seed ${SEED}`);
  assert.ok(Date.now() - started < 15_000, 'the pass is bounded in time');
});

test(
  'hub session and join endpoint: fuzzed frames and join bodies get clear refusals; the hub keeps serving',
  { timeout: 60_000 },
  async () => {
    hub = await startHub({ heartbeat: '1s', unreachableAfter: '5s', extraArgs: ['--join-rate-limit', '1000000'] });
    const h = hub;
    const tok = await createToken(h, { reusable: true });

    // Frames after hello, over the real link; a refused frame closes the link, so reconnect and go on.
    const node = await rawJoin(h, tok.token, 'fuzz-frames');
    const r = rng(SEED + 1);
    let link: RawLink = await openLink(h, node);
    let closes = 0;
    for (let i = 0; i < 300; i++) {
      const { bytes } = fuzzFrame(r, i % 60 === 0);
      try {
        link.sendRaw(bytes);
      } catch {
        // closed under us
      }
      if (i % 10 === 9) {
        await new Promise((res) => setTimeout(res, 5));
        if (link.ws.readyState !== link.ws.OPEN) {
          closes++;
          const code = (await link.closedWithin(3_000)).code;
          assert.ok(
            [1000, 1002, 1008, 1009, 1006].includes(code),
            `a refused frame closes with a protocol code (got ${code})`,
          );
          link = await openLink(h, node);
        }
      }
    }
    link.terminate();
    assert.ok(closes > 0, 'some fuzzed frames were refused');
    assert.equal(h.proc.child.exitCode, null, 'the hub survived the fuzzed frames');

    const k = await keyAndCsr('fuzz-join');
    const res = await fuzzJoin(
      { gatewayUrl: h.gatewayUrl, caPem: h.caPem() },
      { token: tok.token, csr: k.csr, name: 'fuzz-join' },
      { seed: SEED + 2, cases: 600, concurrency: 4 },
    );
    assert.deepEqual(
      res.crashes.map((c) => `${c.kind}: ${c.what}`),
      [],
      `seed ${SEED + 2}`,
    );
    assert.equal(res.tried, 600);
    assert.equal(h.proc.child.exitCode, null, 'the hub survived the fuzzed joins');
    await waitFor('the hub serves', async () => (await h.api('GET', '/healthz')).status === 200, 5_000);
    // The node the frames came from is intact, and a plain join still works.
    await openLink(h, node).then((l) => l.terminate());
    await rawJoin(h, tok.token, 'after-fuzz');
  },
);
