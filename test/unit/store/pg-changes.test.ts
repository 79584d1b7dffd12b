// Several hubs on one PostgreSQL hear of each other's changes (store/pg-changes.ts): a token made or
// revoked, a secret replaced and an event appended through one store reach a listener on another store within a moment
// (no poll); when the notification connection is cut, the listener is told "anything may have
// changed" once it is back, and hears changes again.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openPostgresStore, type Store } from '../../../hub/store/index.js';
import type { ChangeTopic } from '../../../hub/store/cluster-types.js';
import { postgresBinDir, startPostgres, type PgServer } from '../../helpers/postgres.js';
import { waitFor } from '../../helpers/processes.js';

const skip = postgresBinDir() ? false : 'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)';
let server: PgServer | undefined;

before(async () => {
  if (!skip) server = await startPostgres();
});
after(() => server?.stop());

const apiToken = (id: string) => ({
  id,
  role: 'read-only',
  description: '',
  secretHash: 'a'.repeat(64),
  createdAt: new Date().toISOString(),
  createdBy: 'test',
  revokedAt: null,
});

test(
  "a store hears the other store's token, event and command changes at commit, and catches up after a cut",
  { skip, timeout: 60_000 },
  async () => {
    server!.createDatabase('changes');
    const url = server!.urlFor('changes');
    const stores: Store[] = [];
    try {
      const a = await openPostgresStore({ url, connectTimeoutMs: 2000 });
      stores.push(a);
      const b = await openPostgresStore({ url, connectTimeoutMs: 2000 });
      stores.push(b);
      const heard: Array<{ topic: ChangeTopic | undefined; at: number }> = [];
      const stop = a.changes().subscribe((topic) => heard.push({ topic, at: Date.now() }));
      assert.equal(a.changes().live(), false, 'not live before the connection is open');
      await waitFor('the listener connected', () => a.changes().live(), 10_000);
      await waitFor('told to catch up once connected', () => heard.some((h) => h.topic === undefined), 5000);
      heard.length = 0;

      const t0 = Date.now();
      await b.createApiToken(apiToken('aaaaaaaaaaaa'));
      await waitFor('api_tokens heard', () => heard.find((h) => h.topic === 'api_tokens'), 5000);
      const ms = heard.find((h) => h.topic === 'api_tokens')!.at - t0;
      assert.ok(ms < 1000, `heard after ${ms} ms`);
      await b.revokeApiToken('aaaaaaaaaaaa', new Date().toISOString());
      await waitFor('the revocation heard', () => heard.filter((h) => h.topic === 'api_tokens').length >= 2, 5000);
      await b.appendEvent({ type: 'test', actor: 'test', message: 'from b' });
      await waitFor('events heard', () => heard.find((h) => h.topic === 'events'), 5000);
      // A secret replaced (an admin-token rotation) is told by the statement that replaces it.
      const t1 = Date.now();
      await b.replaceSecret('admin-token', Buffer.from('sealed bytes'));
      await waitFor('secrets heard', () => heard.find((h) => h.topic === 'secrets'), 5000);
      const secretMs = heard.find((h) => h.topic === 'secrets')!.at - t1;
      assert.ok(secretMs < 1000, `secrets heard after ${secretMs} ms`);
      assert.ok(!heard.some((h) => h.topic === 'commands'), 'no command was made: none heard');

      // A write that is rolled back is never heard (notifications go out at commit).
      heard.length = 0;
      server!.psql(
        "BEGIN; INSERT INTO api_tokens (id, role, description, secret_hash, created_at, created_by) VALUES ('bbbbbbbbbbbb', 'read-only', '', 'x', 'now', 't'); ROLLBACK;",
        'changes',
      );
      await b.appendEvent({ type: 'test', actor: 'test', message: 'marker' });
      await waitFor('the marker event heard', () => heard.find((h) => h.topic === 'events'), 5000);
      assert.ok(!heard.some((h) => h.topic === 'api_tokens'), 'a rolled-back insert was heard');

      // The notification connection cut by the server: not live, then back, and told to catch up.
      heard.length = 0;
      server!.psql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'changes' AND query LIKE 'LISTEN%'",
        'changes',
      );
      await waitFor('reconnected and told to catch up', () => heard.some((h) => h.topic === undefined), 15_000);
      assert.equal(a.changes().live(), true);
      await b.createApiToken(apiToken('cccccccccccc'));
      await waitFor('heard again after the reconnect', () => heard.find((h) => h.topic === 'api_tokens'), 5000);

      stop();
    } finally {
      for (const s of stores) await s.close();
    }
    // Closing the store closes its notification connection too: no session is left on the server.
    await waitFor(
      'no LISTEN session left',
      () =>
        server!
          .psql("SELECT count(*) FROM pg_stat_activity WHERE datname = 'changes' AND query LIKE 'LISTEN%'", 'changes')
          .trim() === '0',
      5000,
    );
  },
);
