// POSTs alert changes and audit events to a webhook, one at a time in order, never blocking the hub:
// send() only queues (a bounded queue that drops the oldest, counted). Each POST carries
//   X-Atoll-Delivery: <id>              the same on every attempt (receivers dedupe on it)
//   X-Atoll-Timestamp: <unix seconds>   of this attempt
//   X-Atoll-Signature: sha256=<hex>     HMAC-SHA256 of "<timestamp>.<body>" with the secret (when set)
// A network error, a timeout, 408, 429 or 5xx is retried with exponential backoff and jitter, up to
// maxAttempts; another answer (a 4xx: the receiver refuses this body) gives up on that item.
import { createHmac, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger.js';
import { BoundedQueue } from './bounded-queue.js';

export interface SinkCounters {
  delivered(n?: number): void;
  failed(): void;
  dropped(reason: 'overflow' | 'gave-up' | 'refused' | 'stopped', n?: number): void;
}

export interface WebhookSinkOptions {
  url: string;
  secret: Buffer | null;
  logger: Logger;
  counters: SinkCounters;
  capacity?: number;
  /** First retry delay; doubles per attempt up to maxDelayMs, each jittered to 50-100 %. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  maxAttempts?: number;
  timeoutMs?: number;
  random?: () => number;
}

interface Item {
  id: string;
  body: string;
}

const RETRY_STATUS = (s: number): boolean => s === 408 || s === 429 || s >= 500;

/** The signature header's value for a body sent at `timestamp` (seconds). */
export function webhookSignature(secret: Buffer, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** The delay before retry `attempt` (1 = the first retry): exponential, capped, jittered to 50-100 %. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(30, attempt - 1));
  return Math.round(cap / 2 + (random() * cap) / 2);
}

export class WebhookSink {
  private readonly queue: BoundedQueue<Item>;
  private readonly abort = new AbortController();
  private pumping?: Promise<void>;
  private lastWarnAt = 0;

  constructor(private readonly o: WebhookSinkOptions) {
    this.queue = new BoundedQueue(o.capacity ?? 1000);
  }

  /** Queues one JSON document; returns at once. */
  send(doc: unknown): void {
    if (this.abort.signal.aborted) return;
    const dropped = this.queue.push({ id: randomUUID(), body: JSON.stringify(doc) });
    if (dropped) this.o.counters.dropped('overflow', dropped);
    this.pumping ??= this.pump().finally(() => {
      this.pumping = undefined;
    });
  }

  queued(): number {
    return this.queue.size;
  }

  /** Stops at once: the request in flight is aborted and what is queued is dropped (counted). */
  async stop(): Promise<void> {
    this.abort.abort();
    const left = this.queue.clear();
    if (left) this.o.counters.dropped('stopped', left);
    await this.pumping;
  }

  private async pump(): Promise<void> {
    for (let item = this.queue.shift(); item && !this.abort.signal.aborted; item = this.queue.shift()) {
      await this.deliver(item);
    }
  }

  private async deliver(item: Item): Promise<void> {
    const maxAttempts = this.o.maxAttempts ?? 10;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const outcome = await this.post(item);
      if (outcome === 'ok') {
        this.o.counters.delivered();
        return;
      }
      this.o.counters.failed();
      if (outcome === 'refused') {
        this.o.counters.dropped('refused');
        return;
      }
      if (attempt === maxAttempts || this.abort.signal.aborted) break;
      const delay = backoffMs(
        attempt,
        this.o.baseDelayMs ?? 1000,
        this.o.maxDelayMs ?? 60_000,
        this.o.random ?? Math.random,
      );
      try {
        await sleep(delay, undefined, { signal: this.abort.signal });
      } catch {
        return; // stopped
      }
    }
    if (!this.abort.signal.aborted) this.o.counters.dropped('gave-up');
  }

  private async post(item: Item): Promise<'ok' | 'retry' | 'refused'> {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'atoll-hub',
      'x-atoll-delivery': item.id,
      'x-atoll-timestamp': timestamp,
    };
    if (this.o.secret) headers['x-atoll-signature'] = webhookSignature(this.o.secret, timestamp, item.body);
    try {
      const res = await fetch(this.o.url, {
        method: 'POST',
        headers,
        body: item.body,
        redirect: 'manual',
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.o.timeoutMs ?? 10_000)]),
      });
      await res.body?.cancel().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return 'ok';
      this.warn(`the webhook answered ${res.status}`);
      return RETRY_STATUS(res.status) ? 'retry' : 'refused';
    } catch (err) {
      const cause = (err as Error & { cause?: Error }).cause?.message;
      if (!this.abort.signal.aborted)
        this.warn(`the webhook could not be reached: ${(err as Error).message}${cause ? ` (${cause})` : ''}`);
      return 'retry';
    }
  }

  /** At most one warning a minute: a dead receiver must not flood the log. */
  private warn(msg: string): void {
    const now = Date.now();
    if (now - this.lastWarnAt < 60_000) return;
    this.lastWarnAt = now;
    this.o.logger.warn({ queued: this.queue.size }, msg);
  }
}
