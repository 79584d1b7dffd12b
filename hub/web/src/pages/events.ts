// The events page (#/events?type=&node=&pool=): the audit trail and history, newest first, 50 a page,
// filtered by type, node id or pool; live on the newest page.
import { el } from '../dom.js';
import { eventList } from './event-list.js';

export async function eventsPage(main: HTMLElement, _args: string[], query: URLSearchParams): Promise<() => void> {
  const input = (id: string, placeholder: string, key: string): HTMLInputElement =>
    el('input', { id, placeholder, value: query.get(key) ?? '', size: '22' }) as HTMLInputElement;
  const type = input('event-type', 'type, e.g. node.state', 'type');
  const node = input('event-node', 'node id', 'node');
  const pool = input('event-pool', 'pool', 'pool');
  const list = eventList({ id: 'events-table', showNode: true });
  const apply = (): Promise<void> => {
    const f = {
      type: type.value.trim() || undefined,
      node: node.value.trim() || undefined,
      pool: pool.value.trim() || undefined,
    };
    const q = new URLSearchParams(Object.entries(f).filter((e): e is [string, string] => Boolean(e[1]))).toString();
    history.replaceState(null, '', `#/events${q ? `?${q}` : ''}`);
    return list.load(f);
  };
  const form = el(
    'form',
    { class: 'row', id: 'event-filter' },
    type,
    node,
    pool,
    el('button', { type: 'submit' }, 'Filter'),
    el(
      'button',
      {
        type: 'button',
        click: () => {
          type.value = '';
          node.value = '';
          pool.value = '';
          void apply();
        },
      },
      'Clear',
    ),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void apply();
  });
  main.append(el('section', { class: 'card' }, el('h2', {}, 'Events'), form, list.box));
  await apply();
  return () => list.stop();
}
