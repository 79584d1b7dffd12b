// The whole PostgreSQL store: PgStore (pg-store-impl.ts) plus hub membership and leases (pg-cluster.ts).
import type { Clock } from '../clock.js';
import { pgCluster } from './pg-cluster.js';
import type { PgDb } from './pg-db.js';
import { PgStore } from './pg-store-impl.js';
import type { ClusterStore, HubBeat, HubRecord, LeaseRecord, StoreChanges } from './cluster-types.js';
import type { Store } from './types.js';

export class PgClusterStore extends PgStore implements Store {
  private readonly cluster: ClusterStore;

  constructor(db: PgDb, clock: Clock) {
    super(db, clock);
    this.cluster = pgCluster(db);
  }

  changes(): StoreChanges {
    return this.cluster.changes();
  }

  beatHub(hub: HubBeat): Promise<void> {
    return this.cluster.beatHub(hub);
  }

  listHubs(): Promise<HubRecord[]> {
    return this.cluster.listHubs();
  }

  removeHub(id: string): Promise<boolean> {
    return this.cluster.removeHub(id);
  }

  tryAcquireLease(role: string, holder: string, ttlMs: number): Promise<{ term: number } | undefined> {
    return this.cluster.tryAcquireLease(role, holder, ttlMs);
  }

  renewLease(role: string, holder: string, term: number, ttlMs: number): Promise<boolean> {
    return this.cluster.renewLease(role, holder, term, ttlMs);
  }

  releaseLease(role: string, holder: string, term: number): Promise<void> {
    return this.cluster.releaseLease(role, holder, term);
  }

  listLeases(): Promise<LeaseRecord[]> {
    return this.cluster.listLeases();
  }
}
