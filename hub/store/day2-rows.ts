// What both stores share for the day-2 tables (sqlite-day2.ts, pg-day2.ts): the row shapes, their
// mapping to records, and the pure part of the two compare-and-set methods (what to write, given what
// is stored). Each store only reads the stored rows and applies the plan in its own transaction.
import type {
  AlertInput,
  AlertRecord,
  AlertSeverity,
  AlertSync,
  StoredVersionSupport,
  SupportStateChange,
  SupportStateEntry,
} from './day2-types.js';

export interface SupportRow {
  minor: string;
  released: string;
  end_of_maintenance: string;
  end_of_life: string;
  source: string;
  imported_at: string;
  imported_by: string;
}

export interface AlertRow {
  id: string;
  severity: string;
  message: string;
  link: string;
  since: string;
}

export const alertFromRow = (r: AlertRow): AlertRecord => ({
  id: r.id,
  severity: r.severity as AlertSeverity,
  message: r.message,
  link: r.link,
  since: r.since,
});

/** Numeric-aware order of minors ("1.9" < "1.10"). */
function byMinor(a: { minor: string }, b: { minor: string }): number {
  const [am, an] = a.minor.split('.').map(Number);
  const [bm, bn] = b.minor.split('.').map(Number);
  return am - bm || an - bn;
}

export function supportFromRows(rows: readonly SupportRow[]): StoredVersionSupport | undefined {
  if (!rows.length) return undefined;
  return {
    source: rows[0].source,
    importedAt: rows[0].imported_at,
    importedBy: rows[0].imported_by,
    minors: rows
      .map((r) => ({
        minor: r.minor,
        released: r.released,
        endOfMaintenance: r.end_of_maintenance,
        endOfLife: r.end_of_life,
      }))
      .sort(byMinor),
  };
}

export function supportRowsOf(data: StoredVersionSupport | null): SupportRow[] {
  return (data?.minors ?? []).map((m) => ({
    minor: m.minor,
    released: m.released,
    end_of_maintenance: m.endOfMaintenance,
    end_of_life: m.endOfLife,
    source: data?.source ?? '',
    imported_at: data?.importedAt ?? '',
    imported_by: data?.importedBy ?? '',
  }));
}

/** recordSupportStates: the scopes to set (the changes) and the stored ones to delete (pruned). */
export function planSupportStates(
  stored: ReadonlyMap<string, string>,
  entries: readonly SupportStateEntry[],
  prune?: { prefix: string; keep: readonly string[] },
): { changes: SupportStateChange[]; deletes: string[] } {
  const changes: SupportStateChange[] = [];
  const seen = new Set<string>();
  for (const e of entries) {
    seen.add(e.scope);
    const previous = stored.get(e.scope) ?? null;
    if (previous !== e.status) changes.push({ scope: e.scope, status: e.status, previous });
  }
  const keep = new Set(prune?.keep ?? []);
  const deletes = prune
    ? [...stored.keys()].filter((s) => s.startsWith(prune.prefix) && !seen.has(s) && !keep.has(s))
    : [];
  return { changes, deletes };
}

/** syncAlerts: what to insert, update and delete, and the answer (since kept from what is stored). */
export function planAlerts(
  stored: ReadonlyMap<string, AlertRecord>,
  active: readonly AlertInput[],
  at: string,
): { inserts: AlertInput[]; updates: AlertInput[]; deletes: string[]; sync: AlertSync } {
  const plan = { inserts: [] as AlertInput[], updates: [] as AlertInput[], deletes: [] as string[] };
  const sync: AlertSync = { active: [], raised: [], resolved: [] };
  const seen = new Set<string>();
  for (const a of active) {
    if (seen.has(a.id)) continue;
    seen.add(a.id);
    const old = stored.get(a.id);
    if (!old) {
      plan.inserts.push(a);
      const rec = { ...a, since: at };
      sync.active.push(rec);
      sync.raised.push(rec);
      continue;
    }
    if (old.severity !== a.severity || old.message !== a.message || old.link !== a.link) plan.updates.push(a);
    sync.active.push({ ...a, since: old.since });
  }
  for (const [id, old] of stored) {
    if (seen.has(id)) continue;
    plan.deletes.push(id);
    sync.resolved.push(old);
  }
  return { ...plan, sync };
}
