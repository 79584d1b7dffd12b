// Calls into the datastore thread and waits for the answer, so the object store keeps the
// synchronous interface the API and controllers use (an apiserver also waits on its storage). The
// worker runs this same executable (process.argv[1]); main.ts sends it to runDatastoreThread.
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { Reply, WorkerInit } from './kine-worker.js';

/** A datastore operation took longer than k3s tolerates (it exits). */
export class DatastoreTimeoutError extends Error {
  readonly code = 'DATASTORE_TIMEOUT';
}

/** The datastore answered with an error (SQL error codes in `pgCode`). */
export class DatastoreError extends Error {
  readonly code = 'DATASTORE_ERROR';
  constructor(
    message: string,
    readonly pgCode?: string,
    readonly sqlError = false,
  ) {
    super(message);
  }
}

export class SyncBridge {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly flag: Int32Array;
  private seq = 0;

  constructor(
    private readonly timeoutMs: number,
    private readonly onTimeout: (e: DatastoreTimeoutError) => void = () => undefined,
    script: string = process.argv[1] ?? '',
  ) {
    const shared = new SharedArrayBuffer(4);
    this.flag = new Int32Array(shared);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const init: WorkerInit = { kineBridge: true, port: port2, flag: shared };
    this.worker = new Worker(script, { workerData: init, transferList: [port2], stdout: false, stderr: false });
    this.worker.unref();
    this.worker.on('error', () => undefined);
  }

  /** Runs `op` on the datastore thread and blocks until it answers (or throws DatastoreTimeoutError). */
  call<T>(op: string, ...args: unknown[]): T {
    const id = ++this.seq;
    Atomics.store(this.flag, 0, 0);
    this.port.postMessage({ id, op, args });
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) {
        const e = new DatastoreTimeoutError(`datastore operation ${op} took longer than ${this.timeoutMs} ms`);
        this.onTimeout(e);
        throw e;
      }
      Atomics.wait(this.flag, 0, 0, left);
      Atomics.store(this.flag, 0, 0);
      for (let got = receiveMessageOnPort(this.port); got; got = receiveMessageOnPort(this.port)) {
        const reply = got.message as Reply;
        if (reply.id !== id) continue; // the late answer to an operation that timed out
        if (reply.ok) return reply.value as T;
        throw new DatastoreError(reply.error.message, reply.error.code, reply.error.sql === true);
      }
    }
  }

  /** Sleeps the calling thread (kine waits a few ms before filling a gap). */
  pause(ms: number): void {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  }

  close(): void {
    this.port.close();
    this.worker.terminate().catch(() => undefined);
  }
}
