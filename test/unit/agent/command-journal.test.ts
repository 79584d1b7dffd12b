// The agent's command executor and journal (agent/commands/): a command is journalled as started
// before it runs; one whose start cannot be written is answered with an error and never run; a
// re-send while it runs waits for the same run; a start without a result (the agent restarted
// mid-run) is answered as interrupted, not run again.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { CommandExecutor, type CommandOutcome } from '../../../agent/commands/executor.js';
import { createAgentLogger } from '../../../agent/logger.js';
import type { Command } from '../../../proto/index.js';

function dir(t: TestContext): string {
  const d = mkdtempSync(join(tmpdir(), 'atoll-journal-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function executor(dataDir: string, handler: (cmd: Command) => Promise<CommandOutcome>): CommandExecutor {
  return new CommandExecutor({ dataDir, logger: createAgentLogger('silent'), handler });
}

test('a command whose start cannot be journalled is refused and not run', async (t) => {
  const d = dir(t);
  // commands.json cannot be replaced: a directory with something in it stands where it goes.
  mkdirSync(join(d, 'commands.json', 'x'), { recursive: true });
  let runs = 0;
  const ex = executor(d, async () => {
    runs++;
    return { ok: true };
  });
  const r = await ex.run({ id: 'c1', action: 'reboot' });
  assert.equal(runs, 0);
  assert.equal(r.ok, false);
  assert.equal(r.errorCode, 'JOURNAL_WRITE_FAILED');
  assert.match(r.message, /not run/);
  // Space (here: the path) comes back: the re-sent command runs, once.
  rmSync(join(d, 'commands.json'), { recursive: true });
  assert.equal((await ex.run({ id: 'c1', action: 'reboot' })).ok, true);
  assert.equal((await ex.run({ id: 'c1', action: 'reboot' })).ok, true);
  assert.equal(runs, 1);
});

test('journalled before it runs; a re-send while running waits; after a restart mid-run it is answered as interrupted', async (t) => {
  const d = dir(t);
  let release!: () => void;
  let runs = 0;
  const ex = executor(d, () => {
    runs++;
    // While it runs, its start is on disk.
    assert.ok(
      (
        JSON.parse(readFileSync(join(d, 'commands.json'), 'utf8')) as {
          entries: Array<[string, { running?: boolean }]>;
        }
      ).entries.some(([id, e]) => id === 'c2' && e.running),
    );
    return new Promise((res) => {
      release = () => res({ ok: true, message: 'done' });
    });
  });
  const first = ex.run({ id: 'c2', action: 'restart-k3s' });
  const again = ex.run({ id: 'c2', action: 'restart-k3s' });
  await new Promise((r) => setImmediate(r));
  // A restarted agent (a new executor on the same data dir) sees the start but no result.
  let rerun = 0;
  const restarted = executor(d, async () => {
    rerun++;
    return { ok: true };
  });
  const interrupted = await restarted.run({ id: 'c2', action: 'restart-k3s' });
  assert.equal(rerun, 0);
  assert.equal(interrupted.errorCode, 'COMMAND_INTERRUPTED');
  assert.deepEqual(restarted.completedIds(), []);
  release();
  assert.equal((await first).message, 'done');
  assert.equal((await again).message, 'done');
  assert.equal(runs, 1);
  assert.deepEqual(ex.completedIds(), ['c2']);
});
