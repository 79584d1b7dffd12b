// One row of the `kine` table as it crosses from the datastore thread to the server thread.

export interface KineRow {
  readonly id: number;
  readonly name: string;
  readonly created: boolean;
  readonly deleted: boolean;
  readonly createRevision: number;
  readonly prevRevision: number;
  readonly lease: number;
  readonly value: Uint8Array | null;
  readonly oldValue: Uint8Array | null;
}

/** Result of a compare-and-swap write: the new row's id, or why it was not written. */
export type WriteResult = { ok: true; id: number } | { ok: false; reason: 'exists' | 'conflict' | 'gone' };

export interface CompactResult {
  readonly from: number;
  readonly to: number;
  readonly deleted: number;
}

export function toRow(r: Record<string, unknown>): KineRow {
  const bytes = (v: unknown): Uint8Array | null => (v instanceof Uint8Array ? v : null);
  return {
    id: Number(r.id),
    name: String(r.name),
    created: Number(r.created) !== 0,
    deleted: Number(r.deleted) !== 0,
    createRevision: Number(r.create_revision ?? 0),
    prevRevision: Number(r.prev_revision ?? 0),
    lease: Number(r.lease ?? 0),
    value: bytes(r.value),
    oldValue: bytes(r.old_value),
  };
}
