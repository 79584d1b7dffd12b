// The PostgreSQL side of the cluster tables (migration 4; SQLite's 8): hub membership and singleton
// leases. Every expiry and age is on the database's clock (now()), so hubs with skewed clocks agree.
// Acquiring is one INSERT ... ON CONFLICT DO UPDATE ... WHERE: of two hubs racing for a free lease,
// exactly one gets a row back. A fenced write locks the lease row (FOR SHARE) in its own transaction,
// so a takeover cannot commit between the check and the write.
import { sql, type Exec, type PgDb } from './pg-db.js';
import { leaseLost } from './sqlite-cluster.js';
import type { ClusterStore, HubBeat, HubRecord, LeaseFence, LeaseRecord } from './cluster-types.js';

const T = 'text COLLATE "C"';

export const CLUSTER_MIGRATION = [
  `CREATE TABLE hubs (
    id          ${T} PRIMARY KEY,
    public_url  ${T} NOT NULL,
    api_url     ${T} NOT NULL,
    gateway_url ${T} NOT NULL,
    started_at  ${T} NOT NULL,
    last_beat   timestamptz NOT NULL,
    agents      integer NOT NULL DEFAULT 0
  )`,
  `CREATE TABLE leases (
    role       ${T} PRIMARY KEY,
    holder     ${T} NOT NULL,
    term       bigint NOT NULL,
    expires_at timestamptz NOT NULL
  )`,
];

const Q = {
  beat: sql(
    'cl_beat',
    `INSERT INTO hubs (id, public_url, api_url, gateway_url, started_at, last_beat, agents)
     VALUES ($1, $2, $3, $4, $5, clock_timestamp(), $6)
     ON CONFLICT (id) DO UPDATE SET public_url = excluded.public_url, api_url = excluded.api_url,
       gateway_url = excluded.gateway_url, started_at = excluded.started_at, last_beat = excluded.last_beat,
       agents = excluded.agents`,
  ),
  list: sql(
    'cl_list',
    `SELECT id, public_url, api_url, gateway_url, started_at, agents, last_beat,
       (extract(epoch FROM clock_timestamp() - last_beat) * 1000)::float8 AS age_ms
     FROM hubs ORDER BY started_at, id`,
  ),
  remove: sql('cl_remove', 'DELETE FROM hubs WHERE id = $1'),
  acquire: sql(
    'cl_acquire',
    `INSERT INTO leases (role, holder, term, expires_at)
     VALUES ($1, $2, 1, clock_timestamp() + $3 * interval '1 millisecond')
     ON CONFLICT (role) DO UPDATE SET
       holder = excluded.holder,
       term = CASE WHEN leases.holder = excluded.holder AND leases.expires_at > clock_timestamp()
                   THEN leases.term ELSE leases.term + 1 END,
       expires_at = excluded.expires_at
     WHERE leases.holder = excluded.holder OR leases.expires_at <= clock_timestamp()
     RETURNING term`,
  ),
  renew: sql(
    'cl_renew',
    `UPDATE leases SET expires_at = clock_timestamp() + $4 * interval '1 millisecond'
     WHERE role = $1 AND holder = $2 AND term = $3 AND expires_at > clock_timestamp()`,
  ),
  release: sql(
    'cl_release',
    'UPDATE leases SET expires_at = clock_timestamp() WHERE role = $1 AND holder = $2 AND term = $3',
  ),
  listLeases: sql(
    'cl_leases',
    'SELECT role, holder, term, expires_at, expires_at > clock_timestamp() AS live FROM leases ORDER BY role',
  ),
  fence: sql(
    'cl_fence',
    `SELECT 1 AS ok FROM leases WHERE role = $1 AND holder = $2 AND term = $3 AND expires_at > clock_timestamp()
     FOR SHARE`,
  ),
};

interface HubRow {
  id: string;
  public_url: string;
  api_url: string;
  gateway_url: string;
  started_at: string;
  agents: number;
  last_beat: Date;
  age_ms: number;
}

const ttl = (ms: number) => Math.max(1, Math.floor(ms));

/** Throws LEASE_LOST unless `fence` still holds its role; run first inside the write's transaction. */
export async function checkFence(ex: Exec, fence: LeaseFence | undefined): Promise<void> {
  if (!fence) return;
  if (!(await ex.row(Q.fence, [fence.role, fence.holder, fence.term]))) throw leaseLost(fence);
}

export function pgCluster(db: PgDb): ClusterStore {
  return {
    changes: () => db.changes,
    beatHub: (h: HubBeat) =>
      db.run('recording a hub beat', async (ex) => {
        const agents = Math.max(0, Math.floor(h.agents));
        await ex.count(Q.beat, [h.id, h.publicUrl, h.apiUrl, h.gatewayUrl, h.startedAt, agents]);
      }),
    listHubs: () =>
      db.run('listing hubs', async (ex) =>
        (await ex.rows<HubRow>(Q.list)).map(
          (r): HubRecord => ({
            id: r.id,
            publicUrl: r.public_url,
            apiUrl: r.api_url,
            gatewayUrl: r.gateway_url,
            startedAt: r.started_at,
            agents: r.agents,
            lastBeat: new Date(r.last_beat).toISOString(),
            ageMs: Math.max(0, Math.round(r.age_ms)),
          }),
        ),
      ),
    removeHub: (id: string) => db.run('removing a hub', async (ex) => (await ex.count(Q.remove, [id])) > 0),
    tryAcquireLease: (role: string, holder: string, ttlMs: number) =>
      db.run('acquiring a lease', async (ex) => {
        const row = await ex.row<{ term: number }>(Q.acquire, [role, holder, ttl(ttlMs)]);
        return row ? { term: Number(row.term) } : undefined;
      }),
    renewLease: (role: string, holder: string, term: number, ttlMs: number) =>
      db.run('renewing a lease', async (ex) => (await ex.count(Q.renew, [role, holder, term, ttl(ttlMs)])) > 0),
    releaseLease: (role: string, holder: string, term: number) =>
      db.run('releasing a lease', async (ex) => {
        await ex.count(Q.release, [role, holder, term]);
      }),
    listLeases: () =>
      db.run('listing leases', async (ex) =>
        (
          await ex.rows<{ role: string; holder: string; term: number; expires_at: Date; live: boolean }>(Q.listLeases)
        ).map(
          (r): LeaseRecord => ({
            role: r.role,
            holder: r.holder,
            term: Number(r.term),
            expiresAt: new Date(r.expires_at).toISOString(),
            live: r.live,
          }),
        ),
      ),
  };
}
