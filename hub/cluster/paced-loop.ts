// A poll of the shared store that also runs at once when another hub's change is heard
// (store/pg-changes.ts): every slowMs while notifications flow, every fastMs while they do not (no
// notification connection, or SQLite). Runs never overlap; a wake during a run runs it once more.
import type { ChangeTopic, StoreChanges } from '../store/cluster-types.js';

export interface PacedLoop {
  /** Runs now (or right after the run in progress). */
  wake(): void;
  stop(): void;
}

export interface PacedLoopOptions {
  run(): Promise<void>;
  onError(err: Error): void;
  fastMs: number;
  slowMs: number;
  changes: StoreChanges;
  /** The topics that wake it; undefined (changes may have been missed) always does. */
  topics: readonly ChangeTopic[];
}

export function pacedLoop(o: PacedLoopOptions): PacedLoop {
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let again = false;
  let stopped = false;
  const schedule = (): void => {
    clearTimeout(timer);
    if (stopped) return;
    timer = setTimeout(wake, o.changes.live() ? o.slowMs : o.fastMs);
    timer.unref();
  };
  function wake(): void {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    clearTimeout(timer);
    running = true;
    o.run()
      .catch((err: unknown) => o.onError(err instanceof Error ? err : new Error(String(err))))
      .finally(() => {
        running = false;
        if (again && !stopped) {
          again = false;
          wake();
        } else schedule();
      });
  }
  const unsubscribe = o.changes.subscribe((topic) => {
    if (topic === undefined || o.topics.includes(topic)) wake();
  });
  schedule();
  return {
    wake,
    stop() {
      stopped = true;
      clearTimeout(timer);
      unsubscribe();
    },
  };
}
