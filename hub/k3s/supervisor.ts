// Runs `k3s server` as a child process: readiness from /ping and the kube API, restart on crash
// with backoff, `failed` after repeated crashes (tried again after a long backoff: 5 min, doubling,
// at most 30 min), and a clean stop with the hub.
import { execa, type ResultPromise } from 'execa';
import { readFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import { clearServerPid, reapLeftover, serverPidFile, writeServerPid } from './server-pid.js';
import { kubeconfigTls, probe } from './readiness-probe.js';
import { logFailure } from '../../certs/log-failure.js';
import { failedRetryDelay, human } from './retry-delay.js';

export { failedRetryDelay } from './retry-delay.js';

export type ControlPlaneState = 'running' | 'starting' | 'failed' | 'absent' | 'stopped';

export interface ControlPlaneInfo {
  state: ControlPlaneState;
  version: string | null;
  message: string;
  restarts: number;
  since: string;
  lastLogLines: string[];
  /** In `failed`: when the hub tries to start it again by itself. */
  nextRetryAt?: string | null;
}

export interface SupervisorOptions {
  binary: string;
  version: string;
  args: string[];
  /** k3s data dir, for its server CA. */
  k3sDataDir: string;
  kubeconfigPath: string;
  httpsPort: number;
  logger: Logger;
  onState?: (info: ControlPlaneInfo, previous: ControlPlaneState) => void;
  /** Crashes (exits before stop) tolerated within crashWindowMs before giving up. Default 5 in 5 min. */
  maxCrashes?: number;
  crashWindowMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** After `failed`: first delay before starting again (doubles per give-up, capped by failedRetryMaxMs). */
  failedRetryMs?: number;
  failedRetryMaxMs?: number;
  readyTimeoutMs?: number;
  stopTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /**
   * Runs before each start (after a leftover server is stopped), e.g. a pending etcd restore, when it
   * returns a promise; its message is logged. stop() aborts it (the signal) and waits for it to end. When it throws, the server is not started: `failed` with its message until
   * an operator restarts the control plane.
   */
  prepare?: (signal: AbortSignal) => Promise<string | undefined> | undefined;
}

const LOG_TAIL = 20;
export class K3sSupervisor {
  private child?: ResultPromise;
  private stopping = false;
  private crashes: number[] = [];
  private restarts = 0;
  /** Give-ups in a row (reset once the server serves): the retry backoff. */
  private giveUps = 0;
  private nextRetryAt: string | null = null;
  private tail: string[] = [];
  private retryTimer?: NodeJS.Timeout;
  private readyLoop?: Promise<void>;
  private startSeq = 0;
  /** A start's preparation in flight (e.g. an etcd restore): stop() aborts it and waits. */
  private preparing?: { ac: AbortController; done: Promise<void> };
  private info: ControlPlaneInfo;

  constructor(private readonly opts: SupervisorOptions) {
    this.info = {
      state: 'starting',
      version: opts.version,
      message: 'starting k3s server',
      restarts: 0,
      since: new Date().toISOString(),
      lastLogLines: [],
    };
  }

  status(): ControlPlaneInfo {
    return {
      ...this.info,
      restarts: this.restarts,
      lastLogLines: [...this.tail],
      nextRetryAt: this.info.state === 'failed' ? this.nextRetryAt : null,
    };
  }

  ready(): boolean {
    return this.info.state === 'running';
  }

  start(): void {
    this.stopping = false;
    // Only the latest start may spawn: a restart while an earlier start is still on its way wins.
    const seq = ++this.startSeq;
    const pidFile = this.pidFile();
    // First stop a server an earlier hub left behind (killed with SIGKILL), then start ours.
    void reapLeftover(pidFile, this.opts.k3sDataDir)
      .then(
        (pid) => {
          if (pid) this.opts.logger.warn({ pid }, 'stopped a k3s server left running by an earlier hub process');
        },
        (err: unknown) =>
          this.opts.logger.warn({ err: (err as Error).message }, 'could not stop a leftover k3s server'),
      )
      .then(() => this.prepareThenSpawn(seq))
      .catch(logFailure(this.opts.logger, 'starting the k3s server'));
  }

  private async prepareThenSpawn(seq: number): Promise<void> {
    if (this.stopping || seq !== this.startSeq) return;
    const ac = new AbortController();
    // Nothing to prepare (the usual case): spawn at once, in this tick.
    const pending = this.opts.prepare?.(ac.signal);
    if (pending) {
      let finished: () => void = () => undefined;
      this.preparing = { ac, done: new Promise<void>((r) => (finished = r)) };
      try {
        const done = await pending;
        if (done) this.opts.logger.info({ component: 'k3s' }, done);
      } catch (err) {
        if (!ac.signal.aborted && seq === this.startSeq)
          this.setState('failed', `${(err as Error).message}; not started (fix it, then restart the control plane)`);
        return;
      } finally {
        this.preparing = undefined;
        finished();
      }
    }
    if (this.stopping || seq !== this.startSeq || ac.signal.aborted) return;
    this.spawn();
  }

  private pidFile(): string {
    return serverPidFile(this.opts.k3sDataDir);
  }

  private setState(state: ControlPlaneState, message: string): void {
    const previous = this.info.state;
    if (previous === state && this.info.message === message) return;
    this.info = {
      ...this.info,
      state,
      message,
      since: new Date().toISOString(),
      restarts: this.restarts,
      lastLogLines: [...this.tail],
    };
    this.opts.logger[state === 'failed' ? 'error' : 'info']({ state, message }, 'control plane state');
    this.opts.onState?.(this.status(), previous);
  }

  private spawn(): void {
    if (this.stopping) return;
    this.setState(
      'starting',
      this.restarts ? `restarting k3s server (restart ${this.restarts})` : 'starting k3s server',
    );
    const child = execa(this.opts.binary, this.opts.args, {
      reject: false,
      buffer: false,
      env: this.opts.env,
      stdin: 'ignore',
      cleanup: true,
    });
    this.child = child;
    if (child.pid) {
      try {
        mkdirSync(this.opts.k3sDataDir, { recursive: true, mode: 0o700 });
        writeServerPid(this.pidFile(), child.pid);
      } catch (err) {
        this.opts.logger.warn({ err: (err as Error).message }, 'could not write the k3s server pid file');
      }
    }
    const collect = (d: Buffer): void => {
      for (const line of d.toString().split('\n')) {
        if (!line.trim()) continue;
        this.tail.push(line.slice(0, 500));
        if (this.tail.length > LOG_TAIL) this.tail.shift();
        this.opts.logger.debug({ k3s: line.slice(0, 500) }, 'k3s');
      }
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child
      .then((r) => this.onExit(child, r.exitCode, r.signal))
      .catch(logFailure(this.opts.logger, 'watching the k3s server'));
    this.readyLoop = this.waitReady(child);
  }

  private async waitReady(child: ResultPromise): Promise<void> {
    const deadline = Date.now() + (this.opts.readyTimeoutMs ?? 120_000);
    const base = `https://127.0.0.1:${this.opts.httpsPort}`;
    while (!this.stopping && this.child === child && Date.now() < deadline) {
      const caPath = join(this.opts.k3sDataDir, 'server', 'tls', 'server-ca.crt');
      const ca = existsSync(caPath) ? readFileSync(caPath, 'utf8') : undefined;
      const ping = await probe(`${base}/ping`, { ca });
      if (ping.status === 200 && ping.body.trim() === 'pong') {
        const api = await probe(`${base}/readyz`, kubeconfigTls(this.opts.kubeconfigPath));
        if (api.status === 200) {
          if (this.child === child && !this.stopping) {
            this.giveUps = 0;
            this.setState('running', `k3s ${this.opts.version} is serving on :${this.opts.httpsPort}`);
          }
          return;
        }
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    if (!this.stopping && this.child === child && this.info.state === 'starting') {
      this.setState(
        'starting',
        `k3s server is not ready after ${Math.round((this.opts.readyTimeoutMs ?? 120_000) / 1000)}s; still waiting`,
      );
    }
  }

  private onExit(child: ResultPromise, code: number | undefined, signal: string | undefined): void {
    if (this.child !== child) return;
    this.child = undefined;
    clearServerPid(this.pidFile());
    if (this.stopping) {
      this.setState('stopped', 'k3s server stopped');
      return;
    }
    const now = Date.now();
    const window = this.opts.crashWindowMs ?? 300_000;
    this.crashes = [...this.crashes.filter((t) => now - t < window), now];
    const why = `k3s server exited (${signal ?? `code ${code}`})${this.tail.length ? `: ${this.tail.at(-1)}` : ''}`;
    if (this.crashes.length >= (this.opts.maxCrashes ?? 5)) {
      // Not for good: whatever broke it (a full disk, a port in use, a bad flag fixed by hand) may
      // clear, so it is tried again after a long backoff; an operator can restart it at once.
      this.giveUps++;
      const retryIn = failedRetryDelay(this.giveUps, this.opts.failedRetryMs, this.opts.failedRetryMaxMs);
      this.nextRetryAt = new Date(Date.now() + retryIn).toISOString();
      this.setState(
        'failed',
        `${why}; gave up after ${this.crashes.length} crashes in ${Math.round(window / 1000)}s; trying again in ${human(retryIn)}`,
      );
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.crashes = [];
        this.spawn();
      }, retryIn);
      this.retryTimer.unref();
      return;
    }
    this.restarts++;
    const delay = Math.min(
      this.opts.backoffMaxMs ?? 30_000,
      (this.opts.backoffBaseMs ?? 1000) * 2 ** (this.crashes.length - 1),
    );
    this.setState('starting', `${why}; restarting in ${delay} ms`);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.spawn();
    }, delay);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retryTimer);
    const preparing = this.preparing;
    if (preparing) {
      preparing.ac.abort();
      await preparing.done;
    }
    const child = this.child;
    if (!child) {
      if (this.info.state !== 'failed') this.setState('stopped', 'k3s server stopped');
      return;
    }
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), this.opts.stopTimeoutMs ?? 20_000);
    await child;
    clearTimeout(timer);
    await this.readyLoop;
  }

  /** Restart now (an operator asked, or an upgrade swapped the binary); the retry backoff starts over. */
  async restart(): Promise<void> {
    await this.stop();
    this.crashes = [];
    this.giveUps = 0;
    this.start();
  }
}
