// The agent's list of hubs (agent/hub-list.ts, agent/hub-rotation.ts, agent/link-failover.ts,
// proto/hub-urls.ts): bounded and cleaned (entries that are not plain https URLs, or too long, are
// dropped), stored atomically and replaced at each welcome, a damaged file ignored; the dial order
// is the current hub first, the others shuffled, the registration URL always last and never dropped.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { cleanHubUrls, MAX_HUB_URLS, MAX_HUB_URL_LENGTH } from '../../../proto/hub-urls.js';
import { dialOrder, readHubList, writeHubList } from '../../../agent/hub-list.js';
import { HubRotation } from '../../../agent/hub-rotation.js';
import { LinkFailover } from '../../../agent/link-failover.js';
import { createAgentLogger } from '../../../agent/logger.js';

const REG = 'https://hubs.example.com:9444';
const A = 'https://10.0.0.1:9444';
const B = 'https://10.0.0.2:9444';
const C = 'https://10.0.0.3:9444';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'atoll-hublist-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function recordingLog(): { warn(o: object, msg: string): void; lines: string[] } {
  const lines: string[] = [];
  return { lines, warn: (_o, msg) => void lines.push(msg) };
}

test('the welcome list is cleaned: only plain https URLs of bounded length, no duplicates, at most 32', () => {
  const long = `https://${'a'.repeat(MAX_HUB_URL_LENGTH)}.example.com`;
  const { urls, dropped } = cleanHubUrls([
    A,
    `${B}/`,
    'http://10.0.0.9:9444',
    'wss://10.0.0.9:9444',
    'https://user:pw@10.0.0.9:9444',
    'https://10.0.0.9:9444/?x=1',
    'not a url',
    long,
    A,
    42,
  ]);
  assert.deepEqual(urls, [A, B]);
  assert.equal(dropped, 8);
  const many = Array.from({ length: 40 }, (_, i) => `https://10.1.0.${i}:9444`);
  const capped = cleanHubUrls(many);
  assert.equal(capped.urls.length, MAX_HUB_URLS);
  assert.equal(capped.dropped, 8);
  assert.deepEqual(cleanHubUrls('https://x').urls, []);
});

test('dial order: the current hub first, the others shuffled, the registration URL last', () => {
  const seen = new Set<string>();
  let seed = 1;
  const random = (): number => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  for (let i = 0; i < 50; i++) {
    const order = dialOrder(A, [A, B, C, REG], REG, { random });
    assert.equal(order[0], A);
    assert.equal(order.at(-1), REG);
    assert.deepEqual([...order.slice(1, -1)].sort(), [B, C]);
    seen.add(order.join(' '));
  }
  assert.equal(seen.size, 2, 'both orders of the other hubs occur');
  // Sent away by its hub: the others first, the registration URL still last.
  assert.deepEqual(dialOrder(A, [A, B], REG, { draining: true }), [B, REG]);
  // An empty list (an older hub): the hub it was on, then the registration URL.
  assert.deepEqual(dialOrder(A, [], REG), [A, REG]);
  assert.deepEqual(dialOrder(REG, [], REG), [REG]);
});

test('rotation: one quick retry on the current hub, then the others, then the registration URL; rounds repeat', () => {
  const r = new HubRotation(REG, [], () => 0);
  r.welcomed([A, B]);
  assert.deepEqual(r.next(), { url: REG, newRound: true });
  // It connected through the registration URL (a load balancer); the welcome named A and B.
  const got: string[] = [];
  const rounds: boolean[] = [];
  for (let i = 0; i < 6; i++) {
    const n = r.next();
    got.push(n.url);
    rounds.push(n.newRound);
  }
  assert.deepEqual(got.slice(0, 2).sort(), [A, B]);
  assert.equal(got[2], REG, 'the registration URL closes every round');
  assert.equal(got[3], REG, 'and opens the next when the agent was on it');
  assert.deepEqual(got.slice(4, 6).sort(), [A, B]);
  assert.deepEqual(rounds, [false, false, false, true, false, false]);
  // A welcome on B: B is current and is retried first after the next loss.
  const r2 = new HubRotation(REG, [A, B], () => 0.99);
  r2.next(); // dialing REG
  r2.next(); // dialing A or B
  const onHub = r2.hub;
  r2.welcomed([A, B]);
  assert.equal(r2.next().url, onHub);
});

test('a removed hub disappears from the list at the next welcome; the registration URL is never dropped', () => {
  const r = new HubRotation(REG, [A, B, C], () => 0);
  r.welcomed([A, B]);
  const urls = new Set<string>();
  for (let i = 0; i < 12; i++) urls.add(r.next().url);
  assert.ok(!urls.has(C));
  assert.ok(urls.has(REG));
  r.welcomed([]);
  for (let i = 0; i < 4; i++) urls.add(r.next().url);
  assert.ok(urls.has(REG));
});

test('hubs.json: written atomically (0644, no temp file left), replaced at each welcome, read back cleaned', (t) => {
  const dir = tempDir(t);
  const log = recordingLog();
  assert.deepEqual(readHubList(dir, log), []);
  assert.deepEqual(log.lines, [], 'an absent file is no warning');
  writeHubList(dir, [A, B, C]);
  writeHubList(dir, [A, B]);
  assert.deepEqual(readHubList(dir, log), [A, B]);
  assert.equal(statSync(join(dir, 'hubs.json')).mode & 0o777, 0o644);
  assert.deepEqual(
    readdirSync(dir).filter((f) => f !== 'hubs.json'),
    [],
  );
  // An edited file is input too: bad entries are dropped.
  writeFileSync(join(dir, 'hubs.json'), JSON.stringify({ hubs: [A, 'http://evil:80', `https://${'x'.repeat(300)}`] }));
  assert.deepEqual(readHubList(dir, log), [A]);
});

test('a damaged hubs.json is ignored with a log line, never a crash', (t) => {
  const dir = tempDir(t);
  for (const body of ['{"hubs": [', 'null', '{"hubs": "https://x"}', '\u0000\u0001', ' '.repeat(70_000)]) {
    const log = recordingLog();
    writeFileSync(join(dir, 'hubs.json'), body);
    assert.deepEqual(readHubList(dir, log), []);
    assert.equal(log.lines.length, 1, body.slice(0, 20));
    assert.match(log.lines[0], /damaged/);
  }
});

test('the failover keeps hubs.json from each welcome and dials the current hub, then another, then the registration URL', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'hubs.json'), 'garbage');
  const log = createAgentLogger('silent');
  const f = new LinkFailover({ dataDir: dir, registration: REG, log, baseMs: 1, maxMs: 5, random: () => 0 });
  assert.deepEqual(f.known, []);
  f.welcomed([A, B, 'ftp://x']);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'hubs.json'), 'utf8')).hubs, [A, B]);
  const dialed: string[] = [];
  for (let i = 0; i < 4; i++) {
    await new Promise<void>((resolve) => {
      const s = f.schedule(() => resolve());
      assert.ok(s);
      dialed.push(s.hub);
    });
  }
  assert.deepEqual(dialed.slice(0, 3).sort(), [A, B, REG].sort());
  assert.equal(dialed[0], REG, 'first the hub it was on (it joined through the registration URL)');
  // A new agent start reads the stored list.
  const again = new LinkFailover({ dataDir: dir, registration: REG, log });
  assert.deepEqual(again.known, [A, B]);
  f.cancel();
});
