// The two ends of `atoll-hub datastore copy`, one per store kind (copy-sqlite.ts, copy-pg.ts); the
// copy itself (datastore-copy.ts) only speaks these.

export type Row = unknown[];

export interface CopySource {
  /** The store as shown to the user (a path, or a URL without its password). */
  readonly where: string;
  /** Every table of the source's schema. */
  tables(): Promise<string[]>;
  columns(table: string): Promise<string[]>;
  count(table: string): Promise<number>;
  /** The table's rows in batches of at most `size`, values in the order of `columns`. */
  batches(table: string, columns: readonly string[], size: number): AsyncIterable<Row[]>;
  /** The highest event id ever handed out (ids of pruned events included), 0 when none. */
  lastEventId(): Promise<number>;
  close(): Promise<void>;
}

export interface CopyTarget {
  readonly where: string;
  /** Brings the target to the newest schema (outside the copy's transaction). */
  migrate(): Promise<void>;
  columns(table: string): Promise<string[]>;
  /** Starts the copy's one transaction, with the target's tables locked against other writers. */
  begin(): Promise<void>;
  /** Rows per table that are data (the migration's own default pool is not), inside the transaction. */
  count(table: string, dataOnly: boolean): Promise<number>;
  /** Deletes what the migration put in (the default pool), inside the transaction. */
  clearSeeded(): Promise<void>;
  insert(table: string, columns: readonly string[], rows: readonly Row[]): Promise<void>;
  /** The next event id handed out is above `id`. */
  setLastEventId(id: number): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  close(): Promise<void>;
}

export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;
