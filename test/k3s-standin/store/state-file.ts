// Persists the store to <data-dir>/server/db/standin-state.json (write-then-rename), debounced,
// so a restarted server keeps its nodes, pods, secrets and tokens.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StoreSnapshot } from './object-store.js';
import { writeFileAtomic } from '../util/atomic-write.js';

export class StateFile {
  readonly path: string;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    dataDir: string,
    private readonly delayMs = 50,
  ) {
    this.path = join(dataDir, 'server', 'db', 'standin-state.json');
  }

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
