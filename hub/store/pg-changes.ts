// Changes other writers commit, for several hubs on one PostgreSQL: statement triggers on the
// commands, events and api_tokens tables NOTIFY the channel `atoll_changes` with the table's name
// (pg-schema.ts, version 7), delivered at commit, and one connection per hub LISTENs to it. A hub
// then reacts at once instead of polling each table every few hundred milliseconds; its pollers keep
// a slow pace while notifications flow (live) and the fast one while they do not. A replaced secret
// (an admin-token rotation) is told as `secrets` by the statement that replaces it (pg-secrets.ts).
//
// The connection is opened on the first subscriber and kept open, with a reconnect after a
// backoff (0.5 s doubling to 10 s) when it fails; each (re)connect tells subscribers `undefined`
// ("anything may have changed"), as notifications sent while it was down are lost.
import pg from 'pg';
import type { ChangeTopic, StoreChanges } from './cluster-types.js';

export const CHANGES_CHANNEL = 'atoll_changes';
const TOPICS: ReadonlySet<string> = new Set<ChangeTopic>(['commands', 'events', 'api_tokens', 'secrets']);
const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 10_000;

export interface PgChangesOptions {
  /** A new, unconnected client with the store's connection settings. */
  client(): pg.Client;
  onFailure?(err: Error): void;
}

export class PgChanges implements StoreChanges {
  private readonly listeners = new Set<(topic: ChangeTopic | undefined) => void>();
  private client: pg.Client | undefined;
  private connected = false;
  private closed = false;
  private backoffMs = MIN_BACKOFF_MS;
  private retry: NodeJS.Timeout | undefined;

  constructor(private readonly opts?: PgChangesOptions) {}

  live(): boolean {
    return this.connected;
  }

  subscribe(listener: (topic: ChangeTopic | undefined) => void): () => void {
    this.listeners.add(listener);
    if (this.opts && !this.client && !this.retry && !this.closed) this.connect();
    return () => void this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    this.retry = undefined;
    const c = this.client;
    this.client = undefined;
    this.connected = false;
    if (c) await c.end().catch(() => undefined);
  }

  private tell(topic: ChangeTopic | undefined): void {
    for (const l of [...this.listeners]) l(topic);
  }

  private connect(): void {
    if (!this.opts) return;
    const c = this.opts.client();
    this.client = c;
    let failed = false;
    const fail = (err: Error): void => {
      if (failed || this.client !== c) return;
      failed = true;
      this.client = undefined;
      this.connected = false;
      c.removeAllListeners('notification');
      c.end().catch(() => undefined);
      if (this.closed) return;
      this.opts?.onFailure?.(err);
      this.retry = setTimeout(() => {
        this.retry = undefined;
        if (!this.closed) this.connect();
      }, this.backoffMs);
      this.retry.unref();
      this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2);
    };
    c.on('error', fail);
    c.on('end', () => fail(new Error('the notification connection to PostgreSQL ended')));
    c.on('notification', (n) => {
      if (n.channel === CHANGES_CHANNEL && n.payload && TOPICS.has(n.payload)) this.tell(n.payload as ChangeTopic);
    });
    c.connect()
      .then(() => c.query(`LISTEN ${CHANGES_CHANNEL}`))
      .then(() => {
        if (this.client !== c) return;
        this.connected = true;
        this.backoffMs = MIN_BACKOFF_MS;
        this.tell(undefined);
      })
      .catch((err: unknown) => fail(err instanceof Error ? err : new Error(String(err))));
  }
}
