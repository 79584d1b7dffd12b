// DOM helpers for the dashboard: element builders, formatting, bars, toasts, tables.
export type Obj = Record<string, unknown>;

export const $ = (id: string): HTMLElement => document.getElementById(id) as HTMLElement;

export function el(tag: string, attrs: Record<string, string | ((ev: Event) => void)> = {}, ...kids: Array<Node | string | null | undefined>): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === 'function') e.addEventListener(k, v);
    else e.setAttribute(k, v);
  }
  for (const k of kids) if (k !== null && k !== undefined) e.append(k);
  return e;
}

export const s = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

export function ago(iso: unknown): string {
  if (!iso) return 'never';
  const sec = Math.round((Date.now() - Date.parse(String(iso))) / 1000);
  return sec < 60 ? `${sec}s ago` : sec < 3600 ? `${Math.round(sec / 60)}m ago` : `${Math.round(sec / 3600)}h ago`;
}

export const stateTag = (st: unknown): HTMLElement => el('span', { class: `state state-${s(st)}`, 'data-state': s(st) }, s(st));

/** A percentage bar; `kind` adds a class (e.g. bad) to the fill. */
export function bar(pct: unknown, kind = ''): HTMLElement {
  const p = typeof pct === 'number' && Number.isFinite(pct) ? Math.max(0, Math.min(100, pct)) : 0;
  const fill = el('span', kind ? { class: kind } : {});
  fill.style.width = `${p}%`; // CSSOM, allowed by the page's CSP (inline style attributes are not)
  return el('span', { class: 'pct', title: `${p.toFixed(0)}%`, 'data-pct': p.toFixed(0) }, el('span', { class: 'bar' }, fill), ` ${p.toFixed(0)}%`);
}

export function toast(msg: string): void {
  document.getElementById('toast')?.remove();
  const t = el('div', { id: 'toast', role: 'status' }, msg);
  document.body.append(t);
  setTimeout(() => t.remove(), 4000);
}

export function table(head: string[], rows: HTMLElement[]): HTMLElement {
  return el('table', {}, el('thead', {}, el('tr', {}, ...head.map((h) => el('th', {}, h)))), el('tbody', {}, ...rows));
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
