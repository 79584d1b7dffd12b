// The SQLite side of the cluster tables (migration 8): hub membership and singleton leases. With
// SQLite there is one hub, but the same rules hold (and the conformance suite checks them): expiry on
// the store's clock, a new term for every tenure, and fenced writes checked in their transaction.
import type Database from 'better-sqlite3';
import { StoreError } from './types.js';
import type { HubBeat, HubRecord, LeaseFence, LeaseRecord } from './cluster-types.js';

export const V8_CLUSTER_TABLES = `
CREATE TABLE hubs (
  id          TEXT PRIMARY KEY,
  public_url  TEXT NOT NULL,
  api_url     TEXT NOT NULL,
  gateway_url TEXT NOT NULL,
  started_at  TEXT NOT NULL,
  last_beat   INTEGER NOT NULL,
  agents      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE leases (
  role       TEXT PRIMARY KEY,
  holder     TEXT NOT NULL,
  term       INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
`;

interface HubRow {
  id: string;
  public_url: string;
  api_url: string;
  gateway_url: string;
  started_at: string;
  last_beat: number;
  agents: number;
}

interface LeaseRow {
  role: string;
  holder: string;
  term: number;
  expires_at: number;
}

function prepare(db: Database.Database) {
  return {
    beat: db.prepare<HubRow>(`INSERT INTO hubs (id, public_url, api_url, gateway_url, started_at, last_beat, agents)
      VALUES (@id, @public_url, @api_url, @gateway_url, @started_at, @last_beat, @agents)
      ON CONFLICT(id) DO UPDATE SET public_url = excluded.public_url, api_url = excluded.api_url,
        gateway_url = excluded.gateway_url, started_at = excluded.started_at, last_beat = excluded.last_beat,
        agents = excluded.agents`),
    list: db.prepare<[], HubRow>('SELECT * FROM hubs ORDER BY started_at, id'),
    remove: db.prepare<[string]>('DELETE FROM hubs WHERE id = ?'),
    getLease: db.prepare<[string], LeaseRow>('SELECT * FROM leases WHERE role = ?'),
    listLeases: db.prepare<[], LeaseRow>('SELECT * FROM leases ORDER BY role'),
    putLease: db.prepare<[string, string, number, number]>(`INSERT INTO leases (role, holder, term, expires_at)
      VALUES (?, ?, ?, ?) ON CONFLICT(role) DO UPDATE SET holder = excluded.holder, term = excluded.term,
      expires_at = excluded.expires_at`),
    renew: db.prepare<[number, string, string, number, number]>(
      'UPDATE leases SET expires_at = ? WHERE role = ? AND holder = ? AND term = ? AND expires_at > ?',
    ),
    release: db.prepare<[number, string, string, number]>(
      'UPDATE leases SET expires_at = ? WHERE role = ? AND holder = ? AND term = ?',
    ),
  };
}

const ttl = (ms: number) => Math.max(1, Math.floor(ms));

export class SqliteCluster {
  private readonly st: ReturnType<typeof prepare>;
  private readonly acquireTx: Database.Transaction<(role: string, holder: string, ttlMs: number) => number | undefined>;

  constructor(
    db: Database.Database,
    private readonly now: () => number = Date.now,
  ) {
    const st = prepare(db);
    this.st = st;
    this.acquireTx = db.transaction((role: string, holder: string, ttlMs: number) => {
      const now = this.now();
      const cur = st.getLease.get(role);
      const live = cur !== undefined && cur.expires_at > now;
      if (live && cur.holder !== holder) return undefined;
      const term = live ? cur.term : (cur?.term ?? 0) + 1;
      st.putLease.run(role, holder, term, now + ttl(ttlMs));
      return term;
    });
  }

  beatHub(h: HubBeat): void {
    this.st.beat.run({
      id: h.id,
      public_url: h.publicUrl,
      api_url: h.apiUrl,
      gateway_url: h.gatewayUrl,
      started_at: h.startedAt,
      last_beat: this.now(),
      agents: Math.max(0, Math.floor(h.agents)),
    });
  }

  listHubs(): HubRecord[] {
    const now = this.now();
    return this.st.list.all().map((r) => ({
      id: r.id,
      publicUrl: r.public_url,
      apiUrl: r.api_url,
      gatewayUrl: r.gateway_url,
      startedAt: r.started_at,
      agents: r.agents,
      lastBeat: new Date(r.last_beat).toISOString(),
      ageMs: Math.max(0, now - r.last_beat),
    }));
  }

  removeHub(id: string): boolean {
    return this.st.remove.run(id).changes > 0;
  }

  tryAcquireLease(role: string, holder: string, ttlMs: number): { term: number } | undefined {
    const term = this.acquireTx.immediate(role, holder, ttlMs);
    return term === undefined ? undefined : { term };
  }

  renewLease(role: string, holder: string, term: number, ttlMs: number): boolean {
    const now = this.now();
    return this.st.renew.run(now + ttl(ttlMs), role, holder, term, now).changes > 0;
  }

  releaseLease(role: string, holder: string, term: number): void {
    this.st.release.run(this.now(), role, holder, term);
  }

  listLeases(): LeaseRecord[] {
    const now = this.now();
    return this.st.listLeases.all().map((r) => ({
      role: r.role,
      holder: r.holder,
      term: r.term,
      expiresAt: new Date(r.expires_at).toISOString(),
      live: r.expires_at > now,
    }));
  }

  /** Throws LEASE_LOST unless `fence` still holds its role; call inside the write's transaction. */
  checkFence(fence: LeaseFence | undefined): void {
    if (!fence) return;
    const cur = this.st.getLease.get(fence.role);
    if (cur && cur.holder === fence.holder && cur.term === fence.term && cur.expires_at > this.now()) return;
    throw leaseLost(fence);
  }
}

export function leaseLost(fence: LeaseFence): StoreError {
  return new StoreError(
    'LEASE_LOST',
    `refused: this hub (${fence.holder}) no longer leads "${fence.role}" (term ${fence.term}); another hub took over`,
  );
}
