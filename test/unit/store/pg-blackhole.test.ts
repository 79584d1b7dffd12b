// A PostgreSQL behind a link that silently drops everything (no reset, no FIN: a partition, a frozen
// server): a statement that gets no answer fails DATASTORE_UNAVAILABLE after the query timeout, in a
// transaction too, instead of hanging until TCP gives up; when the link is back the same store works.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createServer, connect, type Socket } from 'node:net';
import { StoreError, openPostgresStore } from '../../../hub/store/index.js';
import { postgresBinDir, startPostgres, type PgServer } from '../../helpers/postgres.js';

const skip = postgresBinDir() ? false : 'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)';
let server: PgServer | undefined;

before(async () => {
  if (!skip) server = await startPostgres();
});
after(() => server?.stop());

/** A TCP relay to PostgreSQL that can stop passing bytes on without closing anything. */
async function blackholeProxy(port: number) {
  const pairs = new Set<[Socket, Socket]>();
  let frozen = false;
  const srv = createServer((c) => {
    const up = connect(port, '127.0.0.1');
    const pair: [Socket, Socket] = [c, up];
    pairs.add(pair);
    const relay = (from: Socket, to: Socket) =>
      from.on('data', (b) => {
        if (!frozen) to.write(b);
      });
    relay(c, up);
    relay(up, c);
    const end = () => {
      c.destroy();
      up.destroy();
      pairs.delete(pair);
    };
    c.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
  });
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res));
  const addr = srv.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : 0,
    freeze: (on: boolean) => (frozen = on),
    close: () => {
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
      srv.close();
    },
  };
}

const unavailable = (err: unknown) =>
  err instanceof StoreError && err.code === 'DATASTORE_UNAVAILABLE' && /Query read timeout/.test(err.message);

test(
  'a database that stops answering: statements fail DATASTORE_UNAVAILABLE after the query timeout; then it recovers',
  { skip, timeout: 60_000 },
  async () => {
    server!.createDatabase('blackhole');
    const proxy = await blackholeProxy(server!.port);
    const url = server!.urlFor('blackhole').replace(`:${server!.port}/`, `:${proxy.port}/`);
    const store = await openPostgresStore({ url, connectTimeoutMs: 1500, queryTimeoutMs: 1000, poolSize: 2 });
    try {
      await store.appendEvent({ type: 't', actor: 'test', message: 'before' });
      proxy.freeze(true);
      let t0 = Date.now();
      await assert.rejects(store.appendEvent({ type: 't', actor: 'test', message: 'lost' }), unavailable);
      assert.ok(Date.now() - t0 < 4000, `a write failed after ${Date.now() - t0} ms`);
      t0 = Date.now();
      await assert.rejects(
        store.updateSetting('k', () => 1),
        (err) => err instanceof StoreError && err.code === 'DATASTORE_UNAVAILABLE',
      );
      assert.ok(Date.now() - t0 < 4000, `a transaction failed after ${Date.now() - t0} ms`);
      proxy.freeze(false);
      // The stuck connections were dropped: new ones serve at once.
      await store.appendEvent({ type: 't', actor: 'test', message: 'after' });
      const messages = (await store.listEvents({ limit: 10 })).map((e) => e.message);
      assert.ok(messages.includes('before') && messages.includes('after'), messages.join(','));
    } finally {
      proxy.freeze(false);
      await store.close().catch(() => undefined);
      proxy.close();
    }
  },
);
