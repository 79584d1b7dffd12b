// Writes to a Server-Sent Events response without letting a client that does not read make the hub
// hold its data. Bytes not yet taken by the kernel (res.writableLength): over MAX_UNSENT_BYTES they
// must fall back below it within SLOW_GRACE_MS (a burst is fine), over HARD_UNSENT_BYTES never; else
// the response is destroyed (an SSE client reconnects with Last-Event-ID).
import type { ServerResponse } from 'node:http';

export const MAX_UNSENT_BYTES = 1 << 20;
export const HARD_UNSENT_BYTES = 8 << 20;
export const SLOW_GRACE_MS = 10_000;
/** How long `drained` waits for the client before it drops the stream. */
export const DRAIN_TIMEOUT_MS = 30_000;

export interface SseWriter {
  /** false: wait for `drained()` before writing more, or the stream is gone. */
  write(chunk: string): boolean;
  /** Resolves when the client has taken what was written, or the stream is gone. */
  drained(): Promise<void>;
  /** Ends the stream with the reason logged; `onGone` runs once, here or when the client leaves. */
  drop(why: string): void;
  /** Ends the stream after what was written (the client gets all of it, then reconnects); the caller logs why. */
  end(): void;
  gone(): boolean;
}

export function sseWriter(res: ServerResponse, onGone: (droppedWhy?: string, unsent?: number) => void): SseWriter {
  let gone = false;
  let slowTimer: NodeJS.Timeout | undefined;
  const finish = (why?: string): void => {
    if (gone) return;
    gone = true;
    clearTimeout(slowTimer);
    onGone(why, res.writableLength);
  };
  const drop = (why: string): void => {
    if (gone) return;
    finish(why);
    res.destroy();
  };
  res.on('close', () => finish());
  res.on('error', () => finish());
  return {
    gone: () => gone,
    drop,
    end() {
      if (gone) return;
      finish();
      res.end();
    },
    write(chunk) {
      if (gone) return false;
      const ok = res.write(chunk);
      const unsent = res.writableLength;
      if (unsent > HARD_UNSENT_BYTES) drop(`more than ${HARD_UNSENT_BYTES} bytes unsent`);
      else if (unsent > MAX_UNSENT_BYTES && !slowTimer) {
        slowTimer = setTimeout(() => {
          slowTimer = undefined;
          if (res.writableLength > MAX_UNSENT_BYTES)
            drop(`more than ${MAX_UNSENT_BYTES} bytes unsent for ${SLOW_GRACE_MS} ms`);
        }, SLOW_GRACE_MS);
        slowTimer.unref();
      }
      return ok && !gone;
    },
    drained() {
      return new Promise((resolve) => {
        if (gone || !res.writableNeedDrain) return resolve();
        const done = (): void => {
          clearTimeout(timer);
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        const timer = setTimeout(() => {
          drop(`not read for ${DRAIN_TIMEOUT_MS} ms`);
          done();
        }, DRAIN_TIMEOUT_MS);
        res.once('drain', done);
        res.once('close', done);
      });
    },
  };
}
