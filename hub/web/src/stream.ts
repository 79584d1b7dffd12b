// Live events from /v1/events/stream (SSE read with fetch, since EventSource cannot send an
// Authorization header). Pages subscribe with `listeners`; reconnects resume from the last id.
import { session } from './api.js';
import { $ } from './dom.js';

export interface Ev {
  id: number;
  at: string;
  type: string;
  nodeId: string | null;
  pool: string | null;
  actor: string;
  message: string;
  data?: Record<string, unknown>;
}

export const listeners = new Set<(e: Ev) => void>();
let streamAbort: AbortController | undefined;

export function stopStream(): void {
  streamAbort?.abort();
  $('live').hidden = true;
}

export async function startStream(): Promise<void> {
  streamAbort?.abort();
  const ctl = new AbortController();
  streamAbort = ctl;
  let lastId = '';
  while (!ctl.signal.aborted) {
    try {
      const res = await fetch('/v1/events/stream', {
        headers: { authorization: `Bearer ${session.token}`, ...(lastId ? { 'last-event-id': lastId } : {}) },
        signal: ctl.signal,
      });
      if (!res.ok || !res.body) throw new Error(`stream HTTP ${res.status}`);
      $('live').hidden = false;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const lines = block.split('\n');
          const data = lines
            .filter((l) => l.startsWith('data: '))
            .map((l) => l.slice(6))
            .join('\n');
          // An id with no data moves the cursor only (rows the hub read but did not send).
          const id = lines.find((l) => l.startsWith('id: '))?.slice(4);
          if (!data) {
            if (id && /^\d+$/.test(id)) lastId = id;
            continue;
          }
          const ev = JSON.parse(data) as Ev;
          lastId = String(ev.id);
          for (const l of listeners) l(ev);
        }
      }
    } catch {
      if (ctl.signal.aborted) return;
    }
    $('live').hidden = true;
    await new Promise((r) => setTimeout(r, 2000));
  }
}
