// atoll-hub events: the newest first, paged (--limit, --before, --since CURSOR|DURATION), or
// followed live (--follow: a tail, then new events as they come; survives hub restarts).
import type { Command } from 'commander';
import { client, type Session } from './session.js';
import { CliError, printRows, toYaml, type Column } from './output.js';
import { followEvents, type StreamEvent } from './event-stream.js';
import { parseDuration } from '../duration.js';

type Obj = Record<string, unknown>;
interface Page {
  items: Obj[];
  cursor: number;
}
interface EventFlags {
  since?: string;
  before?: string;
  type?: string;
  node?: string;
  pool?: string;
  limit: string;
  follow?: boolean;
  reconnectFor: string;
}

const s = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
const columns: Array<Column<Obj>> = [
  { header: 'ID', value: (e) => s(e.id) },
  { header: 'AT', value: (e) => s(e.at) },
  { header: 'TYPE', value: (e) => s(e.type) },
  { header: 'ACTOR', value: (e) => s(e.actor) },
  { header: 'NODE', value: (e) => s(e.nodeId), wide: true },
  { header: 'POOL', value: (e) => s(e.pool), wide: true },
  { header: 'MESSAGE', value: (e) => s(e.message) },
];

function cursorOf(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new CliError(`${flag} must be an event id (a cursor)`, 2);
  return n;
}

/** --since: an event id, or a duration back from now (1h, 30m). */
function sinceOf(v: string | undefined): { cursor?: number; after?: number } {
  if (v === undefined) return {};
  if (/^\d+$/.test(v)) return { cursor: Number(v) };
  try {
    return { after: Date.now() - parseDuration(v) };
  } catch {
    throw new CliError(`--since must be an event id or a duration such as 1h, not "${v}"`, 2);
  }
}

/** Newest first: up to `limit` events after the cursor / time and before `before`; `more`: the next page's --before. */
async function newest(c: Session, o: EventFlags, limit: number): Promise<{ items: Obj[]; more: number | undefined }> {
  const since = sinceOf(o.since);
  let before = cursorOf('--before', o.before);
  const items: Obj[] = [];
  // One more than asked for tells whether there is an older page.
  for (let pages = 0; items.length <= limit && pages < 100; pages++) {
    const want = Math.min(1000, limit + 1 - items.length);
    const q = new URLSearchParams({ order: 'desc', since: String(since.cursor ?? 0), limit: String(want) });
    if (before !== undefined) q.set('before', String(before));
    for (const k of ['type', 'node', 'pool'] as const) if (o[k]) q.set(k, o[k]);
    const page = await c.api.call<Page>('GET', `/v1/events?${q}`);
    const fresh =
      since.after === undefined ? page.items : page.items.filter((e) => Date.parse(s(e.at)) >= since.after!);
    items.push(...fresh);
    if (fresh.length < page.items.length || page.items.length < want) break;
    before = page.cursor;
  }
  if (items.length <= limit) return { items, more: undefined };
  const shown = items.slice(0, limit);
  return { items: shown, more: Number(shown[shown.length - 1].id) };
}

function printEvent(c: Session, e: Obj): void {
  if (c.format === 'json') process.stdout.write(JSON.stringify(e) + '\n');
  else if (c.format === 'yaml') process.stdout.write(`---\n${toYaml(e)}`);
  else
    process.stdout.write(
      `${s(e.id).padStart(6)}  ${s(e.at)}  ${s(e.type).padEnd(18)} ${s(e.actor).padEnd(16)} ${c.format === 'wide' ? `${s(e.nodeId || '-').padEnd(14)} ${s(e.pool || '-').padEnd(12)} ` : ''}${s(e.message)}\n`,
    );
}

async function follow(c: Session, o: EventFlags, limit: number): Promise<never> {
  // Stop quietly when the reader goes away (| head).
  process.stdout.on('error', () => process.exit(0));
  const giveUpAfterMs = parseDuration(o.reconnectFor);
  let start = cursorOf('--since', /^\d+$/.test(o.since ?? '') ? o.since : undefined);
  if (start === undefined) {
    // The tail: the newest events (or those within --since DURATION), oldest first, then live.
    const top = await c.api.call<Page>('GET', '/v1/events?order=desc&limit=1');
    start = top.items.length ? Number(top.items[0].id) : 0;
    const tail = await newest(c, { ...o, before: String(start + 1) }, limit);
    for (const e of tail.items.reverse()) printEvent(c, e);
  }
  return followEvents(() => c.refresh(), {
    since: start,
    filters: { type: o.type, node: o.node, pool: o.pool },
    onEvent: (e: StreamEvent) => printEvent(c, e),
    onNotice: (m) => process.stderr.write(`${m}\n`),
    giveUpAfterMs,
  });
}

export function registerEventCommands(program: Command): void {
  program
    .command('events')
    .description('show events (joins, state changes, admin actions), newest first; --follow: live')
    .option('--limit <n>', 'at most this many (with --follow: the tail shown first)', '50')
    .option('--before <cursor>', 'only events older than this id (the next page)')
    .option('--since <cursor|duration>', 'only events after this id, or within this long (1h, 30m)')
    .option('--type <type>', 'only this event type (e.g. node.state)')
    .option('--node <id>', 'only events of this node id')
    .option('--pool <pool>', 'only events of this pool')
    .option(
      '-f, --follow',
      'print the newest, then new events as they come (oldest first); reconnects after a hub restart',
    )
    .option('--reconnect-for <duration>', 'with --follow: give up when the hub stays unreachable this long', '5m')
    .action(async (o: EventFlags, cmd: Command) => {
      const limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
        throw new CliError('--limit must be an integer from 1 to 10000', 2);
      try {
        parseDuration(o.reconnectFor);
      } catch (err) {
        throw new CliError(`--reconnect-for: ${(err as Error).message}`, 2);
      }
      sinceOf(o.since);
      const c = client(cmd);
      if (o.follow) return follow(c, o, limit);
      const { items, more } = await newest(c, o, limit);
      if (c.structured) return c.print({ items, cursor: more ?? null });
      printRows(columns, items, c.format);
      if (more !== undefined) process.stderr.write(`(older events: add --before ${more})\n`);
    });
}
