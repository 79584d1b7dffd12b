// The event cursor on PostgreSQL with several writers: 4 stores (separate pools, as 4 hubs would have)
// append events for 10 s (at most 20,000 each) through appendEvent, enroll (the event at the end of a
// multi-statement transaction) and replaceEvent (a folded repeat), while a follower pages with
// listEvents({ since }). Every acknowledged event that was not replaced must reach the follower,
// none twice, in id order. With ids from a plain sequence (nextval at insert) the follower skips
// events that commit after a higher id (see pg-events.ts).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openPostgresStore, type EventRecord, type Store } from '../../../hub/store/index.js';
import { postgresBinDir, startPostgres, type PgServer } from '../../helpers/postgres.js';
import { enrollInput, token } from './helpers.js';

const WRITERS = 4;
const RUN_MS = 10_000;
const MAX_PER_WRITER = 20_000;

const skip = postgresBinDir() ? false : 'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)';
let server: PgServer | undefined;
const stores: Store[] = [];

before(async () => {
  if (skip) return;
  server = await startPostgres();
});
after(async () => {
  await Promise.all(stores.map((s) => s.close().catch(() => undefined)));
  server?.stop();
});

interface Written {
  acked: Map<number, string>;
  replaced: Set<number>;
}

async function writer(store: Store, w: number, deadline: number, out: Written): Promise<void> {
  let previous: EventRecord | null = null;
  for (let i = 0; i < MAX_PER_WRITER && Date.now() < deadline; i++) {
    const message = `w${w}-${i}`;
    const kind = i % 10;
    if (kind === 0) {
      const input = enrollInput('multi', `n-${w}-${i}`);
      input.event.message = message;
      assert.equal(await store.enroll(input), 'ok');
      // enroll does not return the event: the follower finds it by its message (checked below).
      out.acked.set(-(w * MAX_PER_WRITER + i + 1), message);
    } else if (kind === 5 && previous) {
      const e = await store.replaceEvent(previous.id, { type: 'fold', actor: 'hub', message });
      out.replaced.add(previous.id);
      out.acked.set(e.id, message);
      previous = e;
    } else {
      previous = await store.appendEvent({ type: 'tick', actor: `writer-${w}`, message });
      out.acked.set(previous.id, message);
    }
  }
}

test(
  `${WRITERS} concurrent writers for ${RUN_MS / 1000} s: the follower sees every event once, in id order`,
  { skip, timeout: 120_000 },
  async (t) => {
    const url = server!.url;
    for (let i = 0; i < WRITERS; i++) stores.push(await openPostgresStore({ url, poolSize: 4 }));
    const follower = await openPostgresStore({ url, poolSize: 1 });
    stores.push(follower);
    await stores[0].createToken(token('multi', { maxUses: null }));

    const written: Written = { acked: new Map(), replaced: new Set() };
    const deadline = Date.now() + RUN_MS;
    let writing = true;
    const writers = Promise.all(stores.slice(0, WRITERS).map((s, w) => writer(s, w, deadline, written))).finally(
      () => (writing = false),
    );

    const seen: EventRecord[] = [];
    let cursor = 0;
    let pages = 0;
    const stopBy = deadline + 60_000;
    for (let drained = false; !drained && Date.now() < stopBy; ) {
      const done = !writing;
      const page = await follower.listEvents({ since: cursor, limit: 1000 });
      pages++;
      seen.push(...page);
      if (page.length) cursor = page[page.length - 1].id;
      else await new Promise((r) => setTimeout(r, 2));
      // After the writers finished: one more page that comes back short means nothing is left.
      if (done && page.length < 1000) drained = true;
    }
    await writers;

    const ids = seen.map((e) => e.id);
    for (let i = 1; i < ids.length; i++)
      assert.ok(ids[i] > ids[i - 1], `id ${ids[i]} after ${ids[i - 1]}: not in id order`);
    assert.equal(new Set(ids).size, ids.length, 'no event twice');
    const seenMessages = new Map(seen.map((e) => [e.message, e.id]));
    const missing: string[] = [];
    for (const [id, message] of written.acked) {
      if (written.replaced.has(id)) continue;
      const at = seenMessages.get(message);
      if (at === undefined || (id > 0 && at !== id)) missing.push(`${message} (id ${id})`);
    }
    const total = written.acked.size;
    t.diagnostic(
      `${total} events written by ${WRITERS} writers in ${RUN_MS / 1000} s (${Math.round(total / (RUN_MS / 1000))}/s), ` +
        `${written.replaced.size} replaced; the follower read ${seen.length} in ${pages} pages`,
    );
    assert.deepEqual(missing.slice(0, 20), [], `${missing.length} acknowledged events never reached the follower`);
    assert.ok(total > 1000, `only ${total} events written`);
    // Every event the follower saw was acknowledged to a writer (nothing invented, nothing from a rollback).
    const ackedMessages = new Set(written.acked.values());
    assert.deepEqual(
      seen.filter((e) => !ackedMessages.has(e.message)).map((e) => e.message),
      [],
    );
  },
);
