// DOM helpers for the dashboard: element builders, formatting, bars, toasts, tables.
export type Obj = Record<string, unknown>;

export const $ = (id: string): HTMLElement => document.getElementById(id) as HTMLElement;

export function el(
  tag: string,
  attrs: Record<string, string | ((ev: Event) => void)> = {},
  ...kids: Array<Node | string | null | undefined>
): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === 'function') e.addEventListener(k, v);
    else e.setAttribute(k, v);
  }
  for (const k of kids) if (k !== null && k !== undefined) e.append(k);
  return e;
}

export const s = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

/** "3m ago", "in 2h", "never": how far a time is from now, in one unit. */
export function ago(iso: unknown): string {
  if (!iso) return 'never';
  const ms = Date.parse(String(iso));
  if (!Number.isFinite(ms)) return '';
  const sec = Math.round((Date.now() - ms) / 1000);
  const a = Math.abs(sec);
  const span =
    a < 60
      ? `${a}s`
      : a < 3600
        ? `${Math.round(a / 60)}m`
        : a < 172_800
          ? `${Math.round(a / 3600)}h`
          : `${Math.round(a / 86_400)}d`;
  if (a < 5) return sec >= 0 ? 'just now' : 'in a moment';
  return sec >= 0 ? `${span} ago` : `in ${span}`;
}

/** A short local time: the clock today, the date and clock this year, the full date before. */
export function clock(iso: unknown): string {
  const d = new Date(String(iso));
  if (!iso || Number.isNaN(d.getTime())) return '';
  const now = new Date();
  const hm: Intl.DateTimeFormatOptions = { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false };
  if (d.toDateString() === now.toDateString()) return d.toLocaleTimeString(undefined, hm);
  if (d.getFullYear() === now.getFullYear())
    return d.toLocaleString(undefined, { month: 'short', day: 'numeric', ...hm, second: undefined });
  return d.toLocaleString(undefined, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
  });
}

/** A readable time: the local clock and how long ago (or until); the full date on hover. */
export function when(iso: unknown, opts: { relFirst?: boolean } = {}): HTMLElement {
  if (!iso) return el('span', { class: 'muted' }, 'never');
  const d = new Date(String(iso));
  if (Number.isNaN(d.getTime())) return el('span', {}, s(iso));
  const parts = [clock(iso), ago(iso)];
  if (opts.relFirst) parts.reverse();
  return el(
    'time',
    { datetime: d.toISOString(), title: d.toString() },
    parts[0],
    el('span', { class: 'muted' }, ` · ${parts[1]}`),
  );
}

export const stateTag = (st: unknown): HTMLElement =>
  el('span', { class: `state state-${s(st)}`, 'data-state': s(st) }, s(st));

/** A percentage bar; `kind` adds a class (e.g. bad) to the fill. */
export function bar(pct: unknown, kind = ''): HTMLElement {
  const p = typeof pct === 'number' && Number.isFinite(pct) ? Math.max(0, Math.min(100, pct)) : 0;
  const fill = el('span', kind ? { class: kind } : {});
  fill.style.width = `${p}%`; // CSSOM, allowed by the page's CSP (inline style attributes are not)
  return el(
    'span',
    { class: 'pct', title: `${p.toFixed(0)}%`, 'data-pct': p.toFixed(0) },
    el('span', { class: 'bar' }, fill),
    ` ${p.toFixed(0)}%`,
  );
}

export function toast(msg: string): void {
  document.getElementById('toast')?.remove();
  const t = el('div', { id: 'toast', role: 'status' }, msg);
  document.body.append(t);
  setTimeout(() => t.remove(), 4000);
}

export function table(head: Array<string | HTMLElement>, rows: HTMLElement[]): HTMLElement {
  return el(
    'table',
    {},
    el('thead', {}, el('tr', {}, ...head.map((h) => (typeof h === 'string' ? el('th', {}, h) : h)))),
    el('tbody', {}, ...rows),
  );
}

/** Previous/next buttons and where we are ("51–100 of 240"); a button is disabled at its end. */
export function pager(o: {
  id: string;
  from: number;
  count: number;
  total?: number;
  hasPrev: boolean;
  hasNext: boolean;
  prev: () => void;
  next: () => void;
  prevLabel?: string;
  nextLabel?: string;
}): HTMLElement {
  const prev = el(
    'button',
    { class: 'pager-prev', click: o.prev },
    `‹ ${o.prevLabel ?? 'Previous'}`,
  ) as HTMLButtonElement;
  const next = el('button', { class: 'pager-next', click: o.next }, `${o.nextLabel ?? 'Next'} ›`) as HTMLButtonElement;
  prev.disabled = !o.hasPrev;
  next.disabled = !o.hasNext;
  const where = o.count
    ? `${o.from + 1}–${o.from + o.count}${o.total === undefined ? '' : ` of ${o.total}`}`
    : o.total === 0
      ? 'none'
      : '';
  return el('div', { class: 'pager', id: o.id }, prev, el('span', { class: 'muted pager-where' }, where), next);
}

/** A labelled form field. */
export function field(label: string, input: HTMLElement): HTMLElement {
  return el('label', { class: 'field' }, el('span', {}, label), input);
}

/** Runs `fn` at most once per `ms` after the last call. */
export function debounce(fn: () => void, ms: number): { (): void; cancel(): void } {
  let t: ReturnType<typeof setTimeout> | undefined;
  const call = (): void => {
    clearTimeout(t);
    t = setTimeout(fn, ms);
  };
  call.cancel = (): void => clearTimeout(t);
  return call;
}
