// Persists the store to a JSON file (write-then-rename), debounced, so a restarted server keeps its
// nodes, pods, secrets and tokens: server/db/standin-state.json (k3s's default datastore) or the
// etcd member's file (etcd-files.ts).
import { existsSync, readFileSync } from 'node:fs';
import type { StoreSnapshot } from './object-store.js';
import { writeFileAtomic } from '../util/atomic-write.js';

export class StateFile {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly path: string,
    private readonly delayMs = 50,
  ) {}

  load(): StoreSnapshot | undefined {
    if (!existsSync(this.path)) return undefined;
    const parsed = JSON.parse(readFileSync(this.path, 'utf8')) as StoreSnapshot;
    return typeof parsed.resourceVersion === 'number' ? parsed : undefined;
  }

  /** Schedules a write of whatever `snapshot` returns when the timer fires. */
  schedule(snapshot: () => StoreSnapshot): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.write(snapshot());
    }, this.delayMs);
  }

  flush(snapshot: StoreSnapshot): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.write(snapshot);
  }

  private write(s: StoreSnapshot): void {
    writeFileAtomic(this.path, JSON.stringify(s), 0o600);
  }
}
