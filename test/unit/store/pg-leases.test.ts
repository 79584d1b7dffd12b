// Two hubs racing for the same lease on one PostgreSQL, each with its own store and pool: exactly one
// wins each round, and a takeover waits for a fenced write in flight (the lease row is locked FOR SHARE).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { openPostgresStore, type Store } from '../../../hub/store/index.js';
import { postgresBinDir, startPostgres, type PgServer } from '../../helpers/postgres.js';

if (!postgresBinDir()) {
  test('leases on PostgreSQL', { skip: 'PostgreSQL is not installed' }, () => {});
} else {
  let server: PgServer | undefined;
  const stores: Store[] = [];
  before(async () => {
    server = await startPostgres();
    for (let i = 0; i < 2; i++) stores.push(await openPostgresStore({ url: server.url, poolSize: 4 }));
  });
  after(async () => {
    for (const s of stores) await s.close().catch(() => undefined);
    server?.stop();
  });

  test('two contenders with separate pools: exactly one wins each of 30 rounds, and every new tenure has a higher term', async () => {
    const [a, b] = stores;
    let lastTerm = 0;
    for (let round = 0; round < 30; round++) {
      const role = 'race';
      const results = await Promise.all([
        a.tryAcquireLease(role, 'hub-a', 40),
        b.tryAcquireLease(role, 'hub-b', 40),
        a.tryAcquireLease(role, 'hub-a', 40),
        b.tryAcquireLease(role, 'hub-b', 40),
      ]);
      const winners = new Set(results.map((r, i) => (r ? (i % 2 ? 'hub-b' : 'hub-a') : undefined)).filter(Boolean));
      assert.equal(winners.size, 1, `round ${round}: winners ${[...winners].join(',')}`);
      const terms = new Set(results.filter((r) => r).map((r) => r!.term));
      assert.equal(terms.size, 1);
      const [term] = terms;
      assert.ok(term > lastTerm, `round ${round}: term ${term} after ${lastTerm}`);
      lastTerm = term;
      await sleep(60); // past the lease: the next round is a new tenure
    }
  });

  test('a fenced write in flight and a takeover: the write is refused once the term moved, never both applied', async () => {
    const [a, b] = stores;
    const { term } = (await a.tryAcquireLease('upgrades', 'hub-a', 200))!;
    await sleep(250);
    const taken = await b.tryAcquireLease('upgrades', 'hub-b', 10_000);
    assert.ok(taken && taken.term === term + 1);
    await assert.rejects(
      a.saveRollout(
        { id: 'r', kind: 'k3s', state: 'running', createdAt: 'x', updatedAt: 'x' },
        { role: 'upgrades', holder: 'hub-a', term },
      ),
      (err: unknown) => (err as { code?: string }).code === 'LEASE_LOST',
    );
    assert.equal(await b.getRollout('r'), undefined);
  });
}
