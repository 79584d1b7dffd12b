// The store's part for several hubs on one database: the membership table (each hub beats its row
// every few seconds) and leases for the singletons (autoheal, upgrades, purges, ...), with a fencing
// term so a leader that lost its lease can make no more writes in that role. On PostgreSQL every
// expiry and age is measured on the database's clock (now()), so the hubs' own clocks do not matter.

/** A hub as it announces itself. */
export interface HubBeat {
  id: string;
  publicUrl: string;
  apiUrl: string;
  gatewayUrl: string;
  startedAt: string;
  /** Agents connected to this hub now. */
  agents: number;
}

export interface HubRecord extends HubBeat {
  /** When the store last saw its beat (ISO, the database's clock on PostgreSQL). */
  lastBeat: string;
  /** ms since that beat, measured by the store's clock. */
  ageMs: number;
}

/** What a leader shows with its fenced writes: the write is refused unless it still holds `role` at `term`. */
export interface LeaseFence {
  role: string;
  holder: string;
  term: number;
}

export interface LeaseRecord extends LeaseFence {
  expiresAt: string;
  /** Not yet expired, by the store's clock. */
  live: boolean;
}

/** The tables whose committed changes other hubs hear of (pg-changes.ts); `secrets`: a secret replaced (rotated). */
export type ChangeTopic = 'commands' | 'events' | 'api_tokens' | 'secrets';

export interface StoreChanges {
  /**
   * Calls `listener` with the topic of each change another writer committed; with undefined when
   * changes may have been missed (the notification connection was (re)opened). Returns the unsubscribe.
   */
  subscribe(listener: (topic: ChangeTopic | undefined) => void): () => void;
  /** True while notifications flow: a poller may then keep a slow pace. */
  live(): boolean;
}

/** The SQLite store's: one hub, nothing to hear from others; pollers keep their pace. */
export const NO_CHANGES: StoreChanges = Object.freeze({
  live: () => false,
  subscribe: () => () => undefined,
});

export interface ClusterStore {
  /** Committed changes of other writers (on SQLite, none: one hub, never live). */
  changes(): StoreChanges;
  /** Inserts or refreshes this hub's row; lastBeat is the store's now. */
  beatHub(hub: HubBeat): Promise<void>;
  /** Every hub row, oldest start first. */
  listHubs(): Promise<HubRecord[]>;
  /** false when absent. */
  removeHub(id: string): Promise<boolean>;
  /**
   * Takes `role` for `holder` for `ttlMs` when it is free, expired, or held by `holder` already (then
   * it is extended). The term grows by one on every new tenure (another holder, or after an expiry),
   * so a fence from an older tenure never passes again. undefined when another holder has it.
   */
  tryAcquireLease(role: string, holder: string, ttlMs: number): Promise<{ term: number } | undefined>;
  /** Extends the lease if `holder` still holds it at `term` and it has not expired; false otherwise. */
  renewLease(role: string, holder: string, term: number, ttlMs: number): Promise<boolean>;
  /** Gives the lease up (expires it now) if held at `term`. */
  releaseLease(role: string, holder: string, term: number): Promise<void>;
  listLeases(): Promise<LeaseRecord[]>;
}
