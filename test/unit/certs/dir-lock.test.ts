// The data dir lock (certs/dir-lock.ts) with real processes: a live owner is named, a dead or reused
// pid is stale, and of several processes racing for a stale lock exactly one wins.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DirLockedError, lockDataDir, lockHolder, processStartTime } from '../../../certs/dir-lock.js';

const base = mkdtempSync(join(tmpdir(), 'atoll-lock-'));
after(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
const freshDir = (): string => mkdtempSync(join(base, `d${n++}-`));

test('a live owner is refused by name; release removes the lock; a dead pid is stale', async () => {
  const dir = freshDir();
  const sleeper = spawn('sleep', ['30']);
  try {
    const pid = sleeper.pid!;
    await new Promise((r) => setTimeout(r, 100));
    writeFileSync(
      join(dir, 'lock'),
      JSON.stringify({ pid, startTime: processStartTime(pid), command: 'sleep 30', since: '2024-01-01T00:00:00.000Z' }),
    );
    assert.throws(
      () => lockDataDir(dir),
      (err: unknown) =>
        err instanceof DirLockedError && err.owner.pid === pid && err.message.includes(`pid ${pid}: sleep 30`),
    );
    assert.equal(lockHolder(dir)?.pid, pid);
    sleeper.kill('SIGKILL');
    await new Promise((r) => sleeper.once('exit', r));
    assert.equal(lockHolder(dir), undefined, 'a dead owner holds nothing');
    const lock = lockDataDir(dir);
    assert.equal(JSON.parse(readFileSync(lock.path, 'utf8')).pid, process.pid);
    lock.release();
    assert.equal(existsSync(lock.path), false);
  } finally {
    sleeper.kill('SIGKILL');
  }
});

test('a lock file someone else replaced is not removed by our release', () => {
  const dir = freshDir();
  const lock = lockDataDir(dir);
  writeFileSync(lock.path, JSON.stringify({ pid: 1, since: 'later' }));
  lock.release();
  assert.equal(existsSync(lock.path), true);
});

test('eight processes racing for a stale lock: exactly one wins, the others name it', async () => {
  const dir = freshDir();
  const release = join(base, `release-${n}`);
  // A stale lock: pid 1 with a start time that is not its own.
  writeFileSync(join(dir, 'lock'), JSON.stringify({ pid: 1, startTime: '1', since: '2020-01-01T00:00:00.000Z' }));
  const script = join(base, 'racer.ts');
  // A winner holds the lock until every racer has tried (the test then creates `release`).
  writeFileSync(
    script,
    `import { existsSync } from 'node:fs';
import { lockDataDir } from ${JSON.stringify(resolve(import.meta.dirname, '../../../certs/dir-lock.ts'))};
try {
  lockDataDir(process.argv[2]);
  console.log('won');
  const t0 = Date.now();
  const wait = () => (existsSync(process.argv[3]) || Date.now() - t0 > 60000 ? undefined : setTimeout(wait, 50));
  wait();
} catch (err) { console.log('refused ' + err.message); }\n`,
  );
  const racers = Array.from({ length: 8 }, () => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, dir, release], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const r = { out: '', exited: new Promise<void>((res) => child.on('exit', () => res())) };
    child.stdout.on('data', (d: Buffer) => {
      r.out += d.toString();
    });
    return r;
  });
  const deadline = Date.now() + 60_000;
  while (racers.some((r) => !r.out) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
  writeFileSync(release, '');
  await Promise.all(racers.map((r) => r.exited));
  const won = racers.filter((r) => r.out.startsWith('won'));
  assert.equal(won.length, 1, racers.map((r) => r.out).join(''));
  for (const r of racers.filter((x) => !x.out.startsWith('won')))
    assert.match(r.out, /refused .*in use by another process/);
  assert.equal(existsSync(join(dir, 'lock')), false, 'the winner released it on exit');
});
