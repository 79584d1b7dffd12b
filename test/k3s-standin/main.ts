#!/usr/bin/env node
// Entry point of the k3s stand-in: wires signals and stdio, runs the command, exits with its code.
// The same file also runs as the datastore thread of `k3s server --datastore-endpoint` (kine).
import { isMainThread, workerData } from 'node:worker_threads';
import { buildInfo } from './version.js';
import { runCommand } from './cli/run-command.js';
import { runDatastoreThread, type WorkerInit } from './store/kine/kine-worker.js';

function main(): void {
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', stop);
  runCommand(process.argv.slice(2), buildInfo(), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    signal: ac.signal,
  })
    .then((code) => process.exit(code))
    .catch((e: unknown) => {
      process.stderr.write(
        `time="${new Date().toISOString()}" level=fatal msg=${JSON.stringify(String(e instanceof Error ? (e.stack ?? e.message) : e))}\n`,
      );
      process.exit(1);
    });
}

if (!isMainThread && (workerData as Partial<WorkerInit> | undefined)?.kineBridge) {
  runDatastoreThread(workerData as WorkerInit);
} else {
  main();
}
