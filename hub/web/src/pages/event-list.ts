// A paged list of events, newest first (GET /v1/events?before=), with readable times: the events
// page and the node page use it. On the newest page, live events from the stream are added on top;
// on an older page they are counted, and a link goes back to the newest.
import { api } from '../api.js';
import { el, pager, table, when } from '../dom.js';
import { listeners, type Ev } from '../stream.js';

export interface EventFilter {
  type?: string;
  node?: string;
  pool?: string;
}

export interface EventList {
  box: HTMLElement;
  /** Loads the newest page for `filter`. */
  load(filter: EventFilter): Promise<void>;
  stop(): void;
}

const matches = (e: Ev, f: EventFilter): boolean =>
  (!f.type || e.type === f.type) && (!f.node || e.nodeId === f.node) && (!f.pool || e.pool === f.pool);

export function eventList(o: { id: string; pageSize?: number; showNode?: boolean }): EventList {
  const size = o.pageSize ?? 50;
  const box = el('div', { id: o.id });
  let filter: EventFilter = {};
  let shown: Ev[] = [];
  /** The `before` cursor of every page back from the newest (undefined: the newest page). */
  let cursors: Array<number | undefined> = [undefined];
  let more = false;
  let missed = 0;

  const row = (e: Ev): HTMLElement => {
    return el(
      'tr',
      { 'data-type': e.type, 'data-id': String(e.id) },
      el('td', { class: 'when' }, when(e.at)),
      el('td', {}, el('code', { class: 'etype' }, e.type)),
      o.showNode
        ? el(
            'td',
            {},
            e.nodeId
              ? el('a', { href: `#/node/${encodeURIComponent(e.nodeId)}` }, e.nodeId)
              : el('span', { class: 'muted' }, '—'),
          )
        : null,
      el('td', {}, e.actor),
      el('td', { class: 'message' }, e.message),
    );
  };
  const draw = (): void => {
    const page = cursors.length - 1;
    const notice =
      missed && page > 0
        ? el(
            'p',
            { class: 'notice' },
            `${missed} newer event${missed === 1 ? '' : 's'} since this page was loaded. `,
            el('button', { class: 'link', click: () => void go([undefined]) }, 'Show the newest'),
          )
        : null;
    const head = ['Time', 'Type', ...(o.showNode ? ['Node'] : []), 'Actor', 'Message'];
    box.replaceChildren(
      ...[
        notice,
        shown.length
          ? table(head, shown.map(row))
          : el('p', { class: 'muted' }, page ? 'No older events.' : 'No events.'),
        pager({
          id: `${o.id}-pager`,
          from: page * size,
          count: shown.length,
          hasPrev: page > 0,
          hasNext: more,
          prevLabel: 'Newer',
          nextLabel: 'Older',
          prev: () => void go(cursors.slice(0, -1)),
          next: () => void go([...cursors, shown.at(-1)?.id]),
        }),
      ].filter((x): x is HTMLElement => x !== null),
    );
  };
  const go = async (next: Array<number | undefined>): Promise<void> => {
    const before = next.at(-1);
    const q = new URLSearchParams({ limit: String(size + 1), before: String(before ?? Number.MAX_SAFE_INTEGER) });
    if (filter.type) q.set('type', filter.type);
    if (filter.node) q.set('node', filter.node);
    if (filter.pool) q.set('pool', filter.pool);
    const r = await api<{ items: Ev[] }>('GET', `/v1/events?${q}`);
    // An older hub ignores before= and answers oldest first: show its newest anyway.
    const items = r.items.length > 1 && r.items[0].id < r.items[1].id ? [...r.items].reverse() : r.items;
    more = items.length > size;
    shown = items.slice(0, size);
    cursors = next;
    if (next.length === 1) missed = 0;
    draw();
  };
  const onEvent = (e: Ev): void => {
    if (!matches(e, filter) || shown.some((x) => x.id === e.id)) return;
    if (cursors.length > 1) {
      missed++;
      draw();
      return;
    }
    // A folded repeat (data.replaces) takes the place of its previous version.
    shown = [e, ...shown.filter((x) => x.id !== (e.data as { replaces?: unknown } | undefined)?.replaces)];
    if (shown.length > size) {
      shown = shown.slice(0, size);
      more = true;
    }
    draw();
  };
  listeners.add(onEvent);
  return {
    box,
    load: (f) => {
      filter = f;
      return go([undefined]);
    },
    stop: () => listeners.delete(onEvent),
  };
}
