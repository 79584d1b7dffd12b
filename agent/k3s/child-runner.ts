// Runs `k3s agent` as a supervised child process (used when systemd is not PID 1): restarts it
// with backoff when it crashes, keeps its last log lines, and stops it cleanly.
import { execa, type ResultPromise } from 'execa';
import { appendFileSync, statSync, renameSync } from 'node:fs';
import type { Logger } from '../logger.js';

export type K3sProcState = 'stopped' | 'starting' | 'running' | 'crashed';

export interface K3sRunner {
  /** true when k3s keeps running after the agent exits (systemd), false for a child process. */
  readonly survivesAgent: boolean;
  start(): void;
  stop(): Promise<void>;
  restart(): Promise<void>;
  state(): K3sProcState;
  restarts(): number;
  lastLogLines(): string[];
  /** When the current process started (ms), 0 when none. */
  startedAt(): number;
}

export interface ChildRunnerOptions {
  bin: string;
  args: string[];
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** A run this long counts as healthy and resets the backoff. */
  stableAfterMs?: number;
  /** k3s output goes here (rotated once at 10 MiB), like OpenRC's /var/log/k3s-agent.log. */
  logFile?: string;
}

const LOG_MAX_BYTES = 10 * 1024 * 1024;

function appendLog(file: string, text: string): void {
  try {
    try {
      if (statSync(file).size > LOG_MAX_BYTES) renameSync(file, `${file}.1`);
    } catch {
      // no log yet
    }
    appendFileSync(file, text, { mode: 0o600 });
  } catch {
    // logging must never take k3s down
  }
}

export function createChildRunner(opts: ChildRunnerOptions): K3sRunner {
  let child: ResultPromise | undefined;
  let state: K3sProcState = 'stopped';
  let wanted = false;
  let restarts = 0;
  let consecutive = 0;
  let startedAt = 0;
  let retry: NodeJS.Timeout | undefined;
  const tail: string[] = [];

  const spawn = (): void => {
    if (!wanted) return;
    state = 'starting';
    startedAt = Date.now();
    const c = execa(opts.bin, opts.args, { reject: false, buffer: false, stdin: 'ignore', env: opts.env, cleanup: true });
    child = c;
    const collect = (d: Buffer): void => {
      if (opts.logFile) appendLog(opts.logFile, d.toString());
      for (const line of d.toString().split('\n')) {
        if (!line.trim()) continue;
        tail.push(line.slice(0, 400));
        if (tail.length > 20) tail.shift();
      }
      if (state === 'starting') state = 'running';
    };
    c.stdout?.on('data', collect);
    c.stderr?.on('data', collect);
    c.on('spawn', () => {
      if (state === 'starting') state = 'running';
    });
    void c.then((r) => {
      if (child !== c) return;
      child = undefined;
      if (!wanted) {
        state = 'stopped';
        return;
      }
      state = 'crashed';
      if (Date.now() - startedAt > (opts.stableAfterMs ?? 60_000)) consecutive = 0;
      const delay = Math.min(opts.backoffMaxMs ?? 30_000, (opts.backoffBaseMs ?? 1000) * 2 ** consecutive++);
      restarts++;
      opts.logger.warn({ exitCode: r.exitCode, signal: r.signal, retryInMs: delay, last: tail.at(-1) }, 'k3s agent exited; restarting it');
      retry = setTimeout(() => {
        retry = undefined;
        spawn();
      }, delay);
    });
  };

  const stop = async (): Promise<void> => {
    wanted = false;
    clearTimeout(retry);
    retry = undefined;
    const c = child;
    if (!c) {
      state = 'stopped';
      return;
    }
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 15_000);
    await c;
    clearTimeout(timer);
    child = undefined;
    state = 'stopped';
  };

  return {
    survivesAgent: false,
    start() {
      if (wanted && (child || retry)) return;
      wanted = true;
      consecutive = 0;
      spawn();
    },
    stop,
    async restart() {
      await stop();
      wanted = true;
      consecutive = 0;
      spawn();
    },
    state: () => state,
    restarts: () => restarts,
    lastLogLines: () => [...tail],
    startedAt: () => (child ? startedAt : 0),
  };
}
