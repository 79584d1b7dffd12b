// The tokens page (#/tokens): create a join token (shown once, with the install line and a cloud-init
// document), and the join tokens, 25 a page, newest first, with readable times. Only live tokens
// unless "show expired, used up and revoked" is ticked (GET /v1/tokens?all=true).
import { api, can } from '../api.js';
import { installLine } from '../../../installer/install-line.js';
import { el, pager, s, table, toast, when, type Obj } from '../dom.js';

const PAGE = 25;

async function createCard(onCreated: () => void): Promise<HTMLElement> {
  const pools = (await api<{ items: Obj[] }>('GET', '/v1/pools')).items.map((p) => s(p.name));
  const pool = el(
    'select',
    { id: 'token-pool' },
    ...pools.map((p) => el('option', { value: p }, p)),
  ) as HTMLSelectElement;
  const ttl = el('input', { id: 'token-ttl', value: '1h', size: '6' }) as HTMLInputElement;
  const uses = el('input', { id: 'token-uses', value: '1', size: '4', type: 'number', min: '1' }) as HTMLInputElement;
  const out = el('div', { id: 'token-created' });
  const create = async (): Promise<void> => {
    try {
      const t = await api<Obj>('POST', '/v1/tokens', {
        pool: pool.value,
        ttl: ttl.value,
        uses: Number(uses.value) || 1,
        description: 'dashboard',
      });
      const cluster = await api<Obj>('GET', '/v1/cluster');
      // The same pinned line as atoll-hub join-command prints.
      const line = installLine(s(cluster.publicUrl), s(cluster.servingPin), s(t.token));
      const cloudInitOut = el('pre', { id: 'cloud-init' });
      const makeCloudInit = async (): Promise<void> => {
        cloudInitOut.textContent = await api<string>(
          'GET',
          `/v1/pools/${encodeURIComponent(pool.value)}/cloud-init`,
        ).catch((e: Error) => `(${e.message})`);
      };
      const copy = (text: string) => () =>
        void navigator.clipboard?.writeText(text).then(
          () => toast('copied'),
          () => toast('copy failed'),
        );
      out.replaceChildren(
        el(
          'div',
          { class: 'card inset' },
          el(
            'p',
            {},
            el('strong', {}, 'Token (shown once): '),
            el('code', { id: 'new-token' }, s(t.token)),
            ' ',
            el('button', { click: copy(s(t.token)) }, 'Copy'),
          ),
          el('p', {}, 'Install line:'),
          el('pre', { id: 'install-line' }, line),
          el('button', { click: copy(line) }, 'Copy install line'),
          el(
            'p',
            {},
            'Or a cloud-init document, made only when asked: it carries its own single-use token. ',
            el('button', { id: 'make-cloud-init', click: () => void makeCloudInit() }, 'Make a cloud-init document'),
          ),
          cloudInitOut,
        ),
      );
      onCreated();
    } catch (err) {
      out.replaceChildren(el('p', { class: 'error' }, (err as Error).message));
    }
  };
  return el(
    'section',
    { class: 'card' },
    el('h2', {}, 'Create a join token'),
    el(
      'div',
      { class: 'row' },
      'Pool ',
      pool,
      ' TTL ',
      ttl,
      ' Uses ',
      uses,
      el('button', { class: 'primary', id: 'create-token', click: () => void create() }, 'Create'),
    ),
    out,
  );
}

export async function tokensPage(main: HTMLElement): Promise<void> {
  const canWrite = can('tokens:write');
  const all = el('input', { id: 'token-all', type: 'checkbox' }) as HTMLInputElement;
  const holder = el('div', { id: 'tokens-table' });
  const pagerBox = el('div', {});
  let offset = 0;
  let tokens: Obj[] = [];
  const revoke = (t: Obj): void => {
    if (!confirm(`Revoke join token ${s(t.id)}? A server that has not joined with it yet cannot use it any more.`))
      return;
    void api('DELETE', `/v1/tokens/${encodeURIComponent(s(t.id))}`).then(
      () => {
        toast(`token ${s(t.id)} revoked`);
        void list();
      },
      (e: Error) => toast(e.message),
    );
  };
  const draw = (): void => {
    // A token that expired since it was fetched is no longer live.
    const now = Date.now();
    for (const t of tokens) if (t.status === 'active' && Date.parse(s(t.expiresAt)) <= now) t.status = 'expired';
    // Live only unless asked; also when the hub lists every token whatever the query.
    const shown = tokens
      .filter((t) => all.checked || t.status === 'active')
      .sort((a, b) => s(b.createdAt).localeCompare(s(a.createdAt)));
    offset = Math.max(0, Math.min(offset, Math.floor(Math.max(0, shown.length - 1) / PAGE) * PAGE));
    holder.replaceChildren(
      shown.length
        ? table(
            ['ID', 'Pool', 'Status', 'Uses', 'Created', 'Expires', 'Description', ''],
            shown
              .slice(offset, offset + PAGE)
              .map((t) =>
                el(
                  'tr',
                  { 'data-token': s(t.id), 'data-status': s(t.status) },
                  el('td', {}, el('code', {}, s(t.id))),
                  el('td', {}, s(t.pool)),
                  el('td', {}, el('span', { class: `state token-${s(t.status)}` }, s(t.status))),
                  el('td', {}, `${s(t.uses)} / ${t.reusable ? '∞' : s(t.maxUses)}`),
                  el(
                    'td',
                    {},
                    when(t.createdAt),
                    t.createdBy ? el('span', { class: 'muted' }, ` by ${s(t.createdBy)}`) : null,
                  ),
                  el(
                    'td',
                    { class: 'expires' },
                    t.revokedAt
                      ? el('span', { class: 'muted' }, 'revoked ', when(t.revokedAt, { relFirst: true }))
                      : when(t.expiresAt, { relFirst: true }),
                  ),
                  el('td', {}, s(t.description)),
                  el(
                    'td',
                    {},
                    canWrite && t.status === 'active'
                      ? el('button', { class: 'danger', 'data-revoke': s(t.id), click: () => revoke(t) }, 'Revoke')
                      : null,
                  ),
                ),
              ),
          )
        : el(
            'p',
            { class: 'muted' },
            all.checked
              ? 'No join tokens.'
              : 'No live join tokens. Tick the box to see expired, used up and revoked ones.',
          ),
    );
    pagerBox.replaceChildren(
      shown.length > PAGE
        ? pager({
            id: 'tokens-pager',
            from: offset,
            count: Math.min(PAGE, shown.length - offset),
            total: shown.length,
            hasPrev: offset > 0,
            hasNext: offset + PAGE < shown.length,
            prev: () => {
              offset -= PAGE;
              draw();
            },
            next: () => {
              offset += PAGE;
              draw();
            },
          })
        : el('span', {}),
    );
  };
  const list = async (): Promise<void> => {
    tokens = (await api<{ items: Obj[] }>('GET', `/v1/tokens${all.checked ? '?all=true' : ''}`)).items;
    draw();
  };
  all.addEventListener('change', () => {
    offset = 0;
    void list();
  });
  if (canWrite) main.append(await createCard(() => void list()));
  main.append(
    el(
      'section',
      { class: 'card' },
      el('h2', {}, 'Join tokens'),
      el('div', { class: 'row' }, el('label', {}, all, ' show expired, used up and revoked tokens')),
      holder,
      pagerBox,
    ),
  );
  await list();
}
