// The store's part for day-2 operations: the imported Kubernetes version support data, the last
// support status seen per scope (for notices on change), and the active alerts with their first-seen
// times. Every method is one statement or one IMMEDIATE transaction; nothing reads, awaits and writes back.

/** One Kubernetes minor as upstream publishes it (dates are YYYY-MM-DD, UTC). */
export interface VersionSupportRow {
  /** e.g. "1.31" */
  minor: string;
  released: string;
  /** End of regular support: upstream's "maintenance mode start"; after it only critical fixes. */
  endOfMaintenance: string;
  endOfLife: string;
}

/** An operator's import (atoll-hub versions import): it overrides the bundled data minor by minor. */
export interface StoredVersionSupport {
  source: string;
  importedAt: string;
  importedBy: string;
  minors: VersionSupportRow[];
}

/** The support status of one scope now (`control-plane`, `node:<id>`, `auto-upgrade:end-of-life`). */
export interface SupportStateEntry {
  scope: string;
  status: string;
}

export interface SupportStateChange {
  scope: string;
  status: string;
  /** null when the scope had no status stored. */
  previous: string | null;
}

export type AlertSeverity = 'critical' | 'warning' | 'info';

/** An active problem as computed from state; the id is stable (e.g. `node-unreachable:<nodeId>`). */
export interface AlertInput {
  id: string;
  severity: AlertSeverity;
  message: string;
  /** The dashboard route that shows it, e.g. `#/node/<id>`. */
  link: string;
}

export interface AlertRecord extends AlertInput {
  /** When it was first seen active (kept across calls until it resolves). */
  since: string;
}

export interface AlertSync {
  /** Every active alert, `since` from the store. */
  active: AlertRecord[];
  /** Active now and not stored before. */
  raised: AlertRecord[];
  /** Stored before and not active now (deleted). */
  resolved: AlertRecord[];
}

/**
 * Generic over the event types so this file does not import types.ts (which extends this interface):
 * Store is Day2Store<NewEvent, EventRecord>.
 */
export interface Day2Store<NewEvent, EventRecord> {
  /** The imported override, undefined when none was imported (or it was reset). */
  getVersionSupport(): Promise<StoredVersionSupport | undefined>;
  /**
   * Replaces the whole override (null deletes it) and appends the audit event, in one transaction:
   * either both happen or neither.
   */
  setVersionSupport(data: StoredVersionSupport | null, event: NewEvent): Promise<EventRecord>;
  /**
   * Stores each scope's status and returns the scopes whose status changed (or was new), in one
   * transaction, so of two hubs seeing the same change only one gets it back. With `prune`, stored
   * scopes with its prefix that are neither in `entries` nor in `prune.keep` are deleted (removed nodes).
   */
  recordSupportStates(
    entries: readonly SupportStateEntry[],
    at: string,
    prune?: { prefix: string; keep: readonly string[] },
  ): Promise<SupportStateChange[]>;
  /**
   * Makes the stored alerts the active ones, in one transaction: new ids are stored with `since` =
   * `at`, ids no longer active are deleted, the others keep their `since` (severity, message and link
   * are updated). Returns the active set with `since`, and what was raised and resolved by this call.
   */
  syncAlerts(active: readonly AlertInput[], at: string): Promise<AlertSync>;
}
