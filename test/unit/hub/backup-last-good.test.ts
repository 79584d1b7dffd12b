// The newest good backup (hub/backup/last-good.ts): on SQLite the folder's newest good archive; on
// PostgreSQL the newer of that and the newest backup.created event of any hub (its archive's own time,
// never later than the event), a failed read of the events keeping the last answer. Only complete
// backups count (not one made while k3s was down), and no time more than 5 minutes ahead.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { archiveMacKey, writeArchive } from '../../../hub/backup/archive.js';
import { backupEventMs, lastGoodReader } from '../../../hub/backup/last-good.js';
import { defaultArchiveName } from '../../../hub/backup/create.js';
import type { EventQuery, EventRecord } from '../../../hub/store/types.js';
import { removeTree } from '../../helpers/processes.js';

const root = mkdtempSync(join(tmpdir(), 'atoll-last-good-'));
after(() => removeTree(root));
const NOW = Date.now();

function archiveAt(dir: string, ms: number, incomplete?: string): void {
  const at = new Date(ms);
  const head = { atollVersion: '0.1.0', createdAt: at.toISOString(), datastore: 'postgres' as const, caPin: null };
  writeArchive(
    join(dir, defaultArchiveName(at)),
    { ...head, secrets: 'none', k3s: { kind: 'none', note: 'test' }, ...(incomplete ? { incomplete } : {}) },
    new Map([['hub.db', Buffer.from('x')]]),
    archiveMacKey(Buffer.alloc(32, 1)),
  );
}

function event(at: number, data: Record<string, unknown> = {}): EventRecord {
  const base = { id: 1, type: 'backup.created', nodeId: null, pool: null, actor: 'hub', message: '' };
  return { ...base, at: new Date(at).toISOString(), data };
}

test("an event counts from its archive's time, never later than the event; else from the event", () => {
  assert.equal(backupEventMs(event(NOW, { createdAt: new Date(NOW - 5000).toISOString() })), NOW - 5000);
  assert.equal(backupEventMs(event(NOW, { createdAt: new Date(NOW + 5000).toISOString() })), NOW);
  assert.equal(backupEventMs(event(NOW, { createdAt: 'yesterday' })), NOW);
  assert.equal(backupEventMs(event(NOW)), NOW);
});

test('SQLite: the folder only; PostgreSQL: the newer of the folder and the newest backup.created event', async () => {
  const dir = join(root, 'backups');
  const now = () => NOW;
  let events: EventRecord[] = [];
  let fail = false;
  const queries: EventQuery[] = [];
  const shared = {
    listEvents: (q: EventQuery) => {
      queries.push(q);
      return fail ? Promise.reject(new Error('the database is gone')) : Promise.resolve(events);
    },
  };
  const sqlite = lastGoodReader({ dir, now });
  const pg = lastGoodReader({ dir, now, shared });
  assert.equal(await sqlite(), null, 'no folder, no events');
  assert.equal(await pg(), null);
  mkdirSync(dir);
  archiveAt(dir, NOW - 60_000);
  assert.equal(await sqlite(), NOW - 60_000);
  assert.equal(await pg(), NOW - 60_000);
  // Another hub backed up into its own folder 10 s ago.
  events = [event(NOW - 9000, { createdAt: new Date(NOW - 10_000).toISOString() })];
  assert.equal(await pg(), NOW - 10_000, "another hub's newer backup");
  assert.equal(await sqlite(), NOW - 60_000, 'SQLite reads no events');
  assert.deepEqual(queries.at(-1), { type: 'backup.created', order: 'desc', limit: 20 });
  fail = true;
  assert.equal(await pg(), NOW - 10_000, 'a failed read keeps the last answer');
  fail = false;
  archiveAt(dir, NOW - 1000);
  assert.equal(await pg(), NOW - 1000, 'a newer archive in the folder');
});

test("a backup made while k3s was down does not count, nor a time far ahead of this hub's clock", async () => {
  const dir = join(root, 'incomplete');
  mkdirSync(dir);
  const now = () => NOW;
  let events: EventRecord[] = [];
  const shared = { listEvents: () => Promise.resolve(events) };
  const sqlite = lastGoodReader({ dir, now });
  const pg = lastGoodReader({ dir, now, shared });
  archiveAt(dir, NOW - 3_600_000);
  archiveAt(dir, NOW - 60_000, 'no Kubernetes objects: k3s is not running');
  assert.equal(await sqlite(), NOW - 3_600_000, 'the newest complete archive, not the newer incomplete one');
  const at = (ms: number) => new Date(ms).toISOString();
  events = [
    event(NOW + 3_600_000, { createdAt: at(NOW + 3_600_000) }), // a writer's clock an hour ahead
    event(NOW - 1000, { createdAt: at(NOW - 1000), incomplete: 'no Kubernetes objects: k3s is not running' }),
    event(NOW - 2000, { createdAt: at(NOW - 2000) }),
  ];
  assert.equal(await pg(), NOW - 2000, 'the newest complete event within the clock slack');
  // The clock-ahead answer is not kept for ever: once the events say otherwise, the answer follows.
  events = [event(NOW - 30 * 60_000, { createdAt: at(NOW - 30 * 60_000) })];
  assert.equal(await pg(), NOW - 30 * 60_000, "the events' newest, not the highest ever seen");
  events = [event(NOW + 60_000, { createdAt: at(NOW + 60_000) })];
  assert.equal(await pg(), NOW + 60_000, 'a minute ahead is within the slack');
});
