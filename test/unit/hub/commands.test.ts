// Durable commands (hub/nodes/commands.ts) on a real SQLite store: stored before sent, re-sent on a
// reconnect, first result wins, withdrawn when the caller gives up, expired after their TTL.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { openSqliteStore } from '../../../hub/store/index.js';
import { createEventLog } from '../../../hub/events.js';
import { createLogger } from '../../../hub/logger.js';
import { CommandService, type CommandSender } from '../../../hub/nodes/commands.js';
import { tempDir } from '../store/helpers.js';

class FakeLink implements CommandSender {
  up = true;
  readonly sent: string[] = [];
  constructor(readonly nodeId: string) {}
  sendCommand(cmd: { id: string }): boolean {
    if (!this.up) return false;
    this.sent.push(cmd.id);
    return true;
  }
}

async function setup(t: import('node:test').TestContext, ttlMs = 60_000, now?: () => number) {
  const store = await openSqliteStore({ path: join(tempDir(t), 'hub.db') });
  t.after(() => store.close());
  const logger = createLogger('silent');
  const events = createEventLog(store, logger);
  const links = new Map<string, FakeLink>();
  const svc = new CommandService({ store, events, logger, link: (id) => links.get(id), ttlMs, now });
  return { store, events, links, svc };
}

test('a command is stored before it is sent, re-sent on reconnect, and its first result is kept', async (t) => {
  const { store, links, svc } = await setup(t);
  const link = new FakeLink('n1');
  link.up = false; // the hub thinks it is connected, but the frame does not go out
  links.set('n1', link);
  const cmd = await svc.issue('n1', 'restart-k3s', {}, 'admin');
  assert.equal((await store.getCommand(cmd.id))?.state, 'pending');
  assert.equal((await store.getCommand(cmd.id))?.sentCount, 0);

  const reconnected = new FakeLink('n1');
  assert.equal(await svc.resend(reconnected), 1);
  assert.deepEqual(reconnected.sent, [cmd.id]);
  assert.equal((await store.getCommand(cmd.id))?.sentCount, 1);

  const waiting = svc.wait(cmd.id, 5_000);
  await svc.result('n2', { commandId: cmd.id, ok: false, errorCode: 'X', message: 'another node' });
  assert.equal((await store.getCommand(cmd.id))?.state, 'pending', 'another node cannot answer it');
  await svc.result('n1', { commandId: cmd.id, ok: true, errorCode: '', message: 'k3s restarted' });
  assert.deepEqual(await waiting, { ok: true, errorCode: '', message: 'k3s restarted' });
  await svc.result('n1', { commandId: cmd.id, ok: false, errorCode: 'LATE', message: 'a duplicate' });
  const done = await store.getCommand(cmd.id);
  assert.equal(done?.state, 'done');
  assert.equal(done?.result?.message, 'k3s restarted');
  assert.equal((await store.listEvents({ type: 'command.result' })).length, 1);
  assert.equal(await svc.resend(new FakeLink('n1')), 0, 'a done command is not re-sent');
  assert.deepEqual(
    await svc.wait(cmd.id, 1_000),
    { ok: true, errorCode: '', message: 'k3s restarted' },
    'waiting after the fact answers at once',
  );
});

test('run(): a caller that gives up withdraws the command; a late result is still recorded', async (t) => {
  const { store, links, svc } = await setup(t);
  links.set('n1', new FakeLink('n1'));
  const out = await svc.run('n1', 'reboot', {}, 'autoheal', 50);
  assert.equal(out.ok, false);
  assert.equal(out.errorCode, 'COMMAND_TIMEOUT');
  assert.equal((await store.getCommand(out.commandId))?.state, 'expired');
  assert.equal(await svc.resend(new FakeLink('n1')), 0, 'not re-sent after the caller gave up');
  await svc.result('n1', { commandId: out.commandId, ok: true, errorCode: '', message: 'rebooting' });
  assert.equal((await store.getCommand(out.commandId))?.result?.ok, true);
});

test('pending commands expire after their TTL, with an event, and are not re-sent', async (t) => {
  let clock = Date.now();
  const { store, svc } = await setup(t, 1_000, () => clock);
  const cmd = await svc.issue('n1', 'restart-k3s', {}, 'admin');
  clock += 2_000;
  assert.equal(await svc.resend(new FakeLink('n1')), 0);
  await svc.expire();
  assert.equal((await store.getCommand(cmd.id))?.state, 'expired');
  assert.equal((await store.listEvents({ type: 'command.expired' })).length, 1);
  assert.equal((await svc.wait(cmd.id, 1_000)).errorCode, 'COMMAND_TIMEOUT');
});
