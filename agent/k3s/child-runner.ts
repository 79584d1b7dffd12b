// Runs `k3s agent` as a supervised child process (used when systemd is not PID 1): restarts it
// with backoff when it crashes, and stops it cleanly. Its output goes straight to a log file (not
// through pipes), so a crash of the agent itself never takes k3s down; a pid file lets the next
// agent adopt a k3s that outlived it instead of starting a second one.
import { spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
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
  /** When k3s last exited unexpectedly (ms), 0 when never. */
  lastCrashAt(): number;
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
  logFile: string;
  pidFile: string;
}

const LOG_MAX_BYTES = 10 * 1024 * 1024;

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid in the pid file, if that process is still our k3s. */
export function adoptable(pidFile: string, bin: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (!pid || !alive(pid)) return undefined;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes(bin) ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function tailLines(file: string, n: number): string[] {
  try {
    const size = statSync(file).size;
    const fd = openSync(file, 'r');
    try {
      const len = Math.min(size, 16 * 1024);
      const buf = Buffer.alloc(len);
      readSync(fd, buf, 0, len, size - len);
      return buf
        .toString('utf8')
        .split('\n')
        .filter((l) => l.trim())
        .slice(-n)
        .map((l) => l.slice(0, 400));
    } finally {
      closeSync(fd);
    }
  } catch {
    return [];
  }
}

export function createChildRunner(opts: ChildRunnerOptions): K3sRunner {
  let child: ChildProcess | undefined;
  let adopted: number | undefined;
  let adoptTimer: NodeJS.Timeout | undefined;
  let state: K3sProcState = 'stopped';
  let wanted = false;
  let restarts = 0;
  let lastCrash = 0;
  let consecutive = 0;
  let startedAt = 0;
  let retry: NodeJS.Timeout | undefined;

  const openLog = (): number => {
    try {
      if (statSync(opts.logFile).size > LOG_MAX_BYTES) renameSync(opts.logFile, `${opts.logFile}.1`);
    } catch {
      // no log yet
    }
    return openSync(opts.logFile, 'a', 0o600);
  };

  const onExit = (code: number | null, signal: string | null): void => {
    child = undefined;
    adopted = undefined;
    rmSync(opts.pidFile, { force: true });
    if (!wanted) {
      state = 'stopped';
      return;
    }
    state = 'crashed';
    lastCrash = Date.now();
    if (Date.now() - startedAt > (opts.stableAfterMs ?? 60_000)) consecutive = 0;
    const delay = Math.min(opts.backoffMaxMs ?? 30_000, (opts.backoffBaseMs ?? 1000) * 2 ** consecutive++);
    restarts++;
    opts.logger.warn(
      { exitCode: code, signal, retryInMs: delay, last: tailLines(opts.logFile, 1)[0] },
      'k3s agent exited; restarting it',
    );
    retry = setTimeout(() => {
      retry = undefined;
      launch();
    }, delay);
  };

  const launch = (): void => {
    if (!wanted) return;
    const orphan = adoptable(opts.pidFile, opts.bin);
    if (orphan) {
      // A k3s from a previous agent run is still serving: watch it instead of starting another.
      adopted = orphan;
      state = 'running';
      startedAt = Date.now();
      opts.logger.info({ pid: orphan }, 'adopted the running k3s agent');
      adoptTimer = setInterval(() => {
        if (adopted && !alive(adopted)) {
          clearInterval(adoptTimer);
          onExit(null, 'unknown');
        }
      }, 1000);
      adoptTimer.unref();
      return;
    }
    state = 'starting';
    startedAt = Date.now();
    const fd = openLog();
    const c = spawn(opts.bin, opts.args, { stdio: ['ignore', fd, fd], env: opts.env ?? process.env, detached: true });
    closeSync(fd);
    child = c;
    c.on('spawn', () => {
      state = 'running';
      try {
        if (c.pid) writeFileSync(opts.pidFile, `${c.pid}\n`, { mode: 0o644 });
      } catch (err) {
        // A full data disk: the pid file only helps a restarted agent adopt this k3s; never fatal.
        opts.logger.warn({ err: (err as Error).message }, 'could not write the k3s agent pid file');
      }
    });
    c.on('error', (err) => {
      opts.logger.error({ err: err.message }, 'could not start k3s agent');
    });
    c.on('exit', (code, signal) => {
      if (child === c) onExit(code, signal);
    });
  };

  const stop = async (): Promise<void> => {
    wanted = false;
    clearTimeout(retry);
    retry = undefined;
    clearInterval(adoptTimer);
    const pid = child?.pid ?? adopted;
    const c = child;
    if (!pid) {
      state = 'stopped';
      return;
    }
    const gone = c
      ? new Promise<void>((r) => c.once('exit', () => r()))
      : (async () => {
          for (let i = 0; i < 300 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
        })();
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 15_000);
    await gone;
    clearTimeout(timer);
    child = undefined;
    adopted = undefined;
    if (existsSync(opts.pidFile)) rmSync(opts.pidFile, { force: true });
    state = 'stopped';
  };

  return {
    survivesAgent: false,
    start() {
      if (wanted && (child || adopted || retry)) return;
      wanted = true;
      consecutive = 0;
      launch();
    },
    stop,
    async restart() {
      await stop();
      wanted = true;
      consecutive = 0;
      launch();
    },
    state: () => state,
    restarts: () => restarts,
    lastLogLines: () => tailLines(opts.logFile, 20),
    startedAt: () => (child || adopted ? startedAt : 0),
    lastCrashAt: () => lastCrash,
  };
}
