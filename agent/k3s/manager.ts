// Keeps the node's k3s agent as the hub assigned it: install the version (SHA-256 checked), write
// the config and token, run it, report its state. The last assignment is kept on disk, so k3s runs
// on after an agent restart even while the hub is unreachable (node autonomy).
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import type { K3sAssignment, K3sStatus } from '../../proto/index.js';
import type { Logger } from '../logger.js';
import type { Identity } from '../identity.js';
import { writePublicFile } from '../../certs/files.js';
import { k3sPaths, type K3sPaths } from './paths.js';
import { installK3s, InstallError } from './installer.js';
import { writeK3sConfig } from './config-writer.js';
import { createChildRunner, type K3sRunner } from './child-runner.js';
import { createSystemdRunner, systemdIsPid1 } from './systemd-runner.js';
import { logFailure } from '../../certs/log-failure.js';
import { AgentError } from '../errors.js';

export type K3sState =
  | 'disabled'
  | 'waiting'
  | 'installing'
  | 'starting'
  | 'running'
  | 'crashed'
  | 'stopped'
  | 'removed'
  | 'failed';

interface StoredAssignment {
  serverUrl: string;
  version: string;
  nodeName: string;
  labels: Record<string, string>;
  taints: string[];
  artifactPath: string;
  artifactSha256: string;
  nodeExternalIp: string;
}

export interface K3sManagerOptions {
  agentDataDir: string;
  logger: Logger;
  identity: () => Identity;
  /** Kubelet health endpoint (the kubelet serves it on the node's loopback). */
  healthzUrl?: string;
  /** How long a started k3s may run before an unhealthy kubelet counts as a problem. */
  startGraceMs?: number;
  /** Force the runner; default: systemd when it is PID 1 and the agent runs as root. */
  useSystemd?: boolean;
  env?: NodeJS.ProcessEnv;
}

export class K3sManager {
  readonly paths: K3sPaths;
  private runner?: K3sRunner;
  private phase: K3sState = 'waiting';
  private version = '';
  private kubeletHealthy = false;
  private lastError = '';
  private probeTimer?: NodeJS.Timeout;
  private probeFailures = 0;
  private applying: Promise<void> = Promise.resolve();
  private readonly log: Logger;

  constructor(private readonly opts: K3sManagerOptions) {
    this.paths = k3sPaths(opts.agentDataDir);
    this.log = opts.logger.child({ component: 'k3s' });
  }

  /** After an agent restart: run what was assigned last time, without waiting for the hub. */
  resume(): void {
    const stored = this.readStored();
    if (!stored || !existsSync(this.paths.bin) || !existsSync(this.paths.tokenFile)) return;
    this.version = stored.version;
    this.log.info({ version: stored.version }, 'starting k3s from the last assignment');
    this.run();
  }

  apply(a: K3sAssignment): Promise<void> {
    this.applying = this.applying
      .then(() => this.doApply(a))
      .catch((err: unknown) => {
        this.lastError = (err as Error).message;
        this.log.error(
          { code: (err as { code?: string }).code, err: this.lastError },
          'applying the k3s assignment failed',
        );
        if (this.phase === 'installing')
          this.phase = existsSync(this.paths.bin) && this.runner ? (this.runner.state() as K3sState) : 'failed';
      });
    return this.applying;
  }

  private async doApply(a: K3sAssignment): Promise<void> {
    if (a.disabledReason) {
      this.log.warn({ reason: a.disabledReason }, 'the hub says not to run k3s');
      await this.runner?.stop();
      this.phase = 'disabled';
      this.lastError = a.disabledReason;
      return;
    }
    const stored: StoredAssignment = {
      serverUrl: a.serverUrl ?? '',
      version: a.version ?? '',
      nodeName: a.nodeName ?? '',
      labels: a.labels ?? {},
      taints: a.taints ?? [],
      artifactPath: a.artifactPath ?? '',
      artifactSha256: a.artifactSha256 ?? '',
      nodeExternalIp: a.nodeExternalIp ?? '',
    };
    if (!existsSync(this.paths.bin) || this.version !== stored.version) this.phase = 'installing';
    const binChanged = await installK3s(
      this.opts.identity(),
      { path: stored.artifactPath, sha256: stored.artifactSha256 },
      this.paths.bin,
      this.paths.previousBin,
    );
    const current = {
      config: existsSync(this.paths.config) ? readFileSync(this.paths.config, 'utf8') : undefined,
      token: existsSync(this.paths.tokenFile) ? readFileSync(this.paths.tokenFile, 'utf8').trim() : undefined,
    };
    const configChanged = writeK3sConfig(
      {
        serverUrl: stored.serverUrl,
        token: a.token || current.token || '',
        nodeName: stored.nodeName,
        labels: stored.labels,
        taints: stored.taints,
        nodeExternalIp: stored.nodeExternalIp,
        providerId: `atoll://${this.opts.identity().nodeId}`,
      },
      this.paths,
      current,
    );
    writePublicFile(this.paths.assignment, JSON.stringify(stored, null, 2) + '\n');
    this.version = stored.version;
    this.lastError = '';
    // Installed (or already there): from here the runner's state tells (a new binary restarts below).
    if (this.phase === 'installing') this.phase = 'starting';
    if (!this.runner || binChanged || configChanged) {
      this.log.info(
        { version: stored.version, binChanged, configChanged },
        this.runner ? 'restarting k3s agent with the new assignment' : 'starting k3s agent',
      );
      if (this.runner) await this.runner.restart();
      else this.run();
    }
  }

  private readStored(): StoredAssignment | undefined {
    try {
      return JSON.parse(readFileSync(this.paths.assignment, 'utf8')) as StoredAssignment;
    } catch {
      return undefined;
    }
  }

  private run(): void {
    // systemd keeps k3s running as k3s-agent.service when it is PID 1 and we are root; else a child.
    const useSystemd = this.opts.useSystemd ?? (systemdIsPid1() && process.getuid?.() === 0);
    this.runner ??= useSystemd
      ? createSystemdRunner({ bin: this.paths.bin, config: this.paths.config, logger: this.log })
      : createChildRunner({
          bin: this.paths.bin,
          args: ['agent', '--config', this.paths.config],
          logger: this.log,
          env: this.opts.env,
          logFile: this.paths.log,
          pidFile: this.paths.pid,
        });
    this.runner.start();
    this.phase = 'starting';
    clearInterval(this.probeTimer);
    this.probeTimer = setInterval(() => this.probe().catch(logFailure(this.log, 'probing k3s')), 2000);
    this.probeTimer.unref();
  }

  private probe(): Promise<void> {
    const url = this.opts.healthzUrl ?? 'http://127.0.0.1:10248/healthz';
    return new Promise((resolve) => {
      // One slow or failed probe on a busy node is not a sick kubelet: two in a row are.
      const result = (ok: boolean): void => {
        this.probeFailures = ok ? 0 : this.probeFailures + 1;
        if (ok) this.kubeletHealthy = true;
        else if (this.probeFailures >= 2) this.kubeletHealthy = false;
        resolve();
      };
      const req = request(url, { timeout: 1500 }, (res) => {
        res.resume();
        result(res.statusCode === 200);
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => result(false));
      req.end();
    });
  }

  async restart(): Promise<void> {
    if (!this.runner) throw new AgentError('K3S_NOT_RUNNING', 'k3s is not running on this node yet');
    await this.runner.restart();
  }

  /** The node was removed at the hub: stop k3s and keep it stopped. */
  async removed(): Promise<void> {
    clearInterval(this.probeTimer);
    await this.runner?.stop();
    rmSync(this.paths.tokenFile, { force: true });
    this.phase = 'removed';
  }

  /** The agent restarts into a new version: k3s keeps serving (the next agent adopts it by its pid file). */
  detach(): void {
    clearInterval(this.probeTimer);
  }

  /** The agent is exiting: a child k3s goes with it; a systemd-run k3s keeps serving. */
  async stop(): Promise<void> {
    clearInterval(this.probeTimer);
    if (this.runner && !this.runner.survivesAgent) await this.runner.stop();
  }

  status(): K3sStatus {
    let state: string = this.phase;
    if (this.runner && !['disabled', 'removed', 'installing', 'failed'].includes(this.phase)) {
      const s = this.runner.state();
      // A fresh kubelet needs a moment before its healthz answers: that is starting, not sick.
      const warmingUp =
        s === 'running' &&
        !this.kubeletHealthy &&
        Date.now() - this.runner.startedAt() < (this.opts.startGraceMs ?? 60_000);
      state = warmingUp ? 'starting' : s;
      // A k3s that crashed moments ago and is being retried is crash-looping until it proves
      // otherwise (a healthy kubelet): the brief restart attempts do not hide the crash.
      const lastCrash = this.runner.lastCrashAt();
      if (state === 'starting' && lastCrash && Date.now() - lastCrash < 30_000 && !this.kubeletHealthy)
        state = 'crashed';
    }
    // Anything but a healthy run shows why: k3s retries bad tokens and password clashes forever and
    // says so only in its log.
    const lines = this.lastError
      ? [this.lastError]
      : this.runner && state !== 'running'
        ? this.runner.lastLogLines().slice(-5)
        : [];
    return {
      state,
      version: this.version,
      kubeletHealthy: this.kubeletHealthy,
      restarts: this.runner?.restarts() ?? 0,
      lastLogLines: lines,
    };
  }
}

export { InstallError };
