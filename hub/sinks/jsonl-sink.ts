// Appends alert changes and audit events to a file as JSON lines, for log shippers. The file is
// opened once at start (created 0600; an existing regular file readable by others is tightened),
// and a start that cannot open it fails loudly. Afterwards nothing here can stop the hub: a write
// that fails (a full disk, an I/O error) drops its lines, counted, with at most one warning a
// minute; later lines are written once there is room again. Writes never overlap; what waits is
// bounded (the oldest line is dropped first).
import { open, type FileHandle } from 'node:fs/promises';
import { constants } from 'node:fs';
import type { Logger } from '../logger.js';
import { ConfigError } from '../errors.js';
import { BoundedQueue } from './bounded-queue.js';
import type { SinkCounters } from './webhook-sink.js';

export interface JsonlSinkOptions {
  path: string;
  logger: Logger;
  counters: SinkCounters;
  capacity?: number;
}

/** Lines written in one write at most. */
const BATCH = 256;

export class JsonlSink {
  private readonly queue: BoundedQueue<string>;
  private writing?: Promise<void>;
  private stopped = false;
  private lastWarnAt = 0;

  private constructor(
    private readonly o: JsonlSinkOptions,
    private readonly file: FileHandle,
  ) {
    this.queue = new BoundedQueue(o.capacity ?? 10_000);
  }

  static async open(o: JsonlSinkOptions): Promise<JsonlSink> {
    let file: FileHandle;
    try {
      file = await open(o.path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
    } catch (err) {
      throw new ConfigError(
        `--events-jsonl ${o.path}: cannot open it for appending (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
    try {
      const st = await file.stat();
      if (st.isFile() && (st.mode & 0o077) !== 0) await file.chmod(0o600);
    } catch (err) {
      o.logger.warn({ path: o.path, err: (err as Error).message }, 'could not restrict the events file to mode 0600');
    }
    return new JsonlSink(o, file);
  }

  /** Queues one JSON line; returns at once. */
  send(doc: unknown): void {
    if (this.stopped) return;
    const dropped = this.queue.push(`${JSON.stringify(doc)}\n`);
    if (dropped) this.o.counters.dropped('overflow', dropped);
    this.writing ??= this.drain().finally(() => {
      this.writing = undefined;
    });
  }

  queued(): number {
    return this.queue.size;
  }

  /** Writes what is queued, then closes the file. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.writing;
    if (this.queue.size) await this.drain();
    await this.file.close().catch(() => undefined);
  }

  private async drain(): Promise<void> {
    while (this.queue.size) {
      const lines = this.queue.take(BATCH);
      try {
        await this.file.write(lines.join(''));
        this.o.counters.delivered(lines.length);
      } catch (err) {
        this.o.counters.failed();
        this.o.counters.dropped('gave-up', lines.length);
        const now = Date.now();
        if (now - this.lastWarnAt >= 60_000) {
          this.lastWarnAt = now;
          this.o.logger.warn(
            { path: this.o.path, code: (err as NodeJS.ErrnoException).code, lines: lines.length },
            'could not append to the events file; these lines are dropped',
          );
        }
      }
    }
  }
}
