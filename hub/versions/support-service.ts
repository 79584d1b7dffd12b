// The version support data the hub uses: the bundled file overlaid with the operator's import
// (stored, so every hub of a cluster and every restart sees it), and the status of a version now.
// An import is checked whole before anything is stored; it is stored with its audit event in one
// transaction, so a bad file changes nothing.
import type { Store } from '../store/types.js';
import type { StoredVersionSupport } from '../store/day2-types.js';
import type { EventLog } from '../events.js';
import { HubError } from '../errors.js';
import {
  BUNDLED_SUPPORT,
  SupportDataError,
  mergeSupport,
  parseSupportDocument,
  type VersionSupportRow,
} from './support-data.js';
import { supportOf, type VersionSupport } from './support-status.js';

export interface SupportDataView {
  /** Where the bundled data comes from. */
  bundledSource: string;
  /** The import in force, if any. */
  imported: { source: string; importedAt: string; importedBy: string; minors: number } | null;
  /** The data in force (bundled overlaid with the import), each minor with its status now. */
  minors: Array<VersionSupportRow & { status: VersionSupport['status']; daysLeft: number | null }>;
}

export interface VersionSupportDeps {
  store: Store;
  events: EventLog;
  /** Wall time (ms); the hub's clock. */
  now: () => number;
}

export class VersionSupportService {
  private imported: StoredVersionSupport | undefined;
  private rows: readonly VersionSupportRow[] = BUNDLED_SUPPORT.minors;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly d: VersionSupportDeps) {}

  /** Reads the stored import (another hub may have made one). */
  async load(): Promise<void> {
    this.use(await this.d.store.getVersionSupport());
  }

  private use(imported: StoredVersionSupport | undefined): void {
    this.imported = imported;
    this.rows = imported ? mergeSupport(BUNDLED_SUPPORT.minors, imported.minors) : BUNDLED_SUPPORT.minors;
  }

  /** Called after an import or a reset changed the data. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  status(version: string, nowMs = this.d.now()): VersionSupport {
    return supportOf(this.rows, version, nowMs);
  }

  view(nowMs = this.d.now()): SupportDataView {
    return {
      bundledSource: BUNDLED_SUPPORT.source,
      imported: this.imported
        ? {
            source: this.imported.source,
            importedAt: this.imported.importedAt,
            importedBy: this.imported.importedBy,
            minors: this.imported.minors.length,
          }
        : null,
      minors: this.rows.map((r) => {
        const s = supportOf(this.rows, `v${r.minor}.0`, nowMs);
        return { ...r, status: s.status, daysLeft: s.daysLeft };
      }),
    };
  }

  /** Checks and stores an import (VALIDATION with every problem when it is bad; nothing changes then). */
  async import(doc: unknown, actor: string): Promise<SupportDataView> {
    let parsed;
    try {
      parsed = parseSupportDocument(doc);
    } catch (err) {
      if (err instanceof SupportDataError) throw new HubError('VALIDATION', err.message, { problems: err.problems });
      throw err;
    }
    const data: StoredVersionSupport = {
      source: parsed.source,
      importedAt: new Date(this.d.now()).toISOString(),
      importedBy: actor,
      minors: parsed.minors,
    };
    const range = `${parsed.minors[0].minor} to ${parsed.minors.at(-1)?.minor}`;
    const event = await this.d.store.setVersionSupport(data, {
      type: 'versions.imported',
      actor,
      message: `version support data imported: ${parsed.minors.length} minors (${range})${parsed.source ? ` from ${parsed.source.slice(0, 200)}` : ''}`,
      data: { minors: parsed.minors.map((m) => m.minor), source: parsed.source },
    });
    this.d.events.publish(event);
    this.use(data);
    this.changed();
    return this.view();
  }

  /** Drops the import: the bundled data applies again. */
  async reset(actor: string): Promise<SupportDataView> {
    const event = await this.d.store.setVersionSupport(null, {
      type: 'versions.reset',
      actor,
      message: 'version support data reset to the data bundled with this atoll',
    });
    this.d.events.publish(event);
    this.use(undefined);
    this.changed();
    return this.view();
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }
}
