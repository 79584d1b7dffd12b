// The hub's control plane: finds k3s per --k3s, supervises `k3s server`, and once it is ready offers
// the Kubernetes view (nodes by name), per-node join tokens, drains and removals. In `absent` or
// `off` every method degrades to a clear "no control plane" answer; nothing else in the hub breaks.
import { readFileSync, existsSync } from 'node:fs';
import { networkInterfaces, arch as osArch } from 'node:os';
import type { Logger } from '../logger.js';
import { dataDirBinary, probeBinary, resolveK3s, type K3sBinary } from './binary.js';
import { installManaged, preferManaged, restorePrevious } from './managed-binary.js';
import { serverArgs, k3sDataDir, kubeconfigPath } from './server-args.js';
import { applyPendingEtcdRestore, hasPendingEtcdRestore } from './etcd-restore.js';
import { serverPidFile } from './server-pid.js';
import { K3sSupervisor, failedRetryDelay, type ControlPlaneInfo } from './supervisor.js';
import type { KubeClient, KubeNodeSummary } from './kube.js';
import { KubeWatch } from './kube-watch.js';
import { publicKubeconfig } from './kubeconfig-names.js';
import { createNodeTokenTool, type NodeTokenTool } from './node-tokens.js';
import { HUB_DEFAULTS } from '../config.js';
import type { ArtifactStore, K3sArtifact } from '../artifacts/artifact-store.js';
import { AtollError } from '../../certs/atoll-error.js';

export interface ControlPlaneOptions {
  mode: string;
  dataDir: string;
  publicHost: string;
  /** Further names for k3s's serving certificate (--gateway-url's host, --tls-san). */
  tlsSans?: readonly string[];
  httpsPort: number;
  extraArgs: readonly string[];
  nodeTokenTtl: string;
  /** The kubeconfig's cluster, user and context name (--cluster-name). */
  clusterName?: string;
  /** --control-plane-schedulable: no control-plane taint on the hub's own node. */
  schedulable?: boolean;
  restartBackoffMs?: number;
  /** After `failed`: first delay before the hub tries again by itself (default 5 min, doubling, at most 30 min). */
  failedRetryMs?: number;
  artifacts: ArtifactStore;
  logger: Logger;
  onState?: (info: ControlPlaneInfo, previous: string) => void;
  onKubeNode?: (type: 'ADDED' | 'MODIFIED' | 'DELETED', node: KubeNodeSummary) => void;
  env?: NodeJS.ProcessEnv;
}

const NODE_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm' };

function localAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((a) => (a ?? []).map((x) => x.address));
}

export class ControlPlane {
  private binary: K3sBinary = { kind: 'absent', reason: 'not resolved yet' };
  private supervisor?: K3sSupervisor;
  private tokens?: NodeTokenTool;
  private readonly watch: KubeWatch;
  private staticInfo: ControlPlaneInfo = {
    state: 'absent',
    version: null,
    message: 'not started',
    restarts: 0,
    since: new Date().toISOString(),
    lastLogLines: [],
  };
  private retryTimer?: NodeJS.Timeout;
  private staticFailures = 0;
  private stopped = false;

  constructor(private readonly opts: ControlPlaneOptions) {
    this.watch = new KubeWatch(kubeconfigPath(opts.dataDir), opts.logger.child({ component: 'kube' }), opts.onKubeNode);
  }

  /**
   * POST /v1/cluster/actions/restart-control-plane: stops the k3s server (if any) and starts it again
   * now, finding the binary afresh when there was none usable; the retry backoff starts over.
   */
  async restart(): Promise<ControlPlaneInfo> {
    if (this.opts.mode === 'off') throw new AtollError('CP_OFF', 'the control plane is off (--k3s off)');
    clearTimeout(this.retryTimer);
    this.staticFailures = 0;
    if (this.supervisor) {
      this.watch.disconnect();
      await this.supervisor.restart();
    } else {
      await this.start();
    }
    return this.info();
  }

  async start(): Promise<void> {
    const log = this.opts.logger;
    const chosen = await preferManaged(await resolveK3s(this.opts.mode, this.opts.dataDir), this.opts.dataDir);
    if (chosen.note) log.info(chosen.note);
    this.binary = chosen.binary;
    if (this.binary.kind === 'off') {
      this.setStatic('absent', 'the control plane is off (--k3s off)');
      return;
    }
    if (this.binary.kind === 'absent') {
      this.setStatic('absent', `${this.binary.reason}; running without a control plane`);
      return;
    }
    if (this.binary.kind === 'broken') {
      this.setStatic('failed', this.binary.reason);
      return;
    }
    const { path, version } = this.binary;
    // The hub serves the k3s it runs to agents of the same arch.
    const hostArch = this.arch();
    if (!this.opts.artifacts.getK3s(version, hostArch)) {
      try {
        await this.opts.artifacts.importK3s(version, hostArch, path);
        log.info({ version, arch: hostArch }, 'imported the running k3s binary as an artifact');
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'could not import the running k3s binary');
      }
    }
    this.startSupervisor(path, version);
  }

  /** The arch of the hub's own k3s (its artifacts are this arch). */
  arch(): string {
    return NODE_ARCH[osArch()] ?? osArch();
  }

  private startSupervisor(path: string, version: string): void {
    const log = this.opts.logger;
    this.staticFailures = 0;
    this.tokens = createNodeTokenTool({
      binary: path,
      k3sDataDir: k3sDataDir(this.opts.dataDir),
      kubeconfig: kubeconfigPath(this.opts.dataDir),
      ttl: this.opts.nodeTokenTtl,
    });
    const args = serverArgs({
      dataDir: this.opts.dataDir,
      publicHost: this.opts.publicHost,
      tlsSans: this.opts.tlsSans,
      httpsPort: this.opts.httpsPort,
      localAddresses: localAddresses(),
      extraArgs: this.opts.extraArgs,
      schedulable: this.opts.schedulable,
    });
    const k3sDir = k3sDataDir(this.opts.dataDir);
    const pidFile = serverPidFile(k3sDir);
    this.supervisor = new K3sSupervisor({
      binary: path,
      version,
      args,
      // A restore of a hub on embedded etcd left a snapshot for k3s to restore first.
      prepare: (signal) =>
        hasPendingEtcdRestore(k3sDir)
          ? applyPendingEtcdRestore({ binary: path, args, env: this.opts.env, k3sDir, logger: log, signal, pidFile })
          : undefined,
      k3sDataDir: k3sDataDir(this.opts.dataDir),
      kubeconfigPath: kubeconfigPath(this.opts.dataDir),
      httpsPort: this.opts.httpsPort,
      logger: log,
      env: this.opts.env,
      backoffBaseMs: this.opts.restartBackoffMs,
      failedRetryMs: this.opts.failedRetryMs,
      onState: (info, previous) => {
        if (info.state === 'running') this.watch.connect();
        else this.watch.disconnect();
        this.opts.onState?.(info, previous);
      },
    });
    this.supervisor.start();
  }

  /** Whether this hub runs a k3s server it can swap (found, supervised). */
  upgradable(): boolean {
    return this.binary.kind === 'found' && this.supervisor !== undefined;
  }

  /**
   * Control-plane upgrade: installs `artifact` as the managed binary (SHA-256 and --version checked;
   * the running one kept) and restarts the server on it. Readiness is the caller's to wait for.
   */
  async upgradeTo(artifact: K3sArtifact): Promise<void> {
    if (this.binary.kind !== 'found' || !this.supervisor)
      throw new AtollError('CP_NOT_SUPERVISED', 'no supervised k3s server to upgrade');
    await installManaged(
      this.opts.dataDir,
      { path: this.binary.path, version: this.binary.version },
      artifact.path,
      artifact.sha256,
      artifact.version,
    );
    this.opts.logger.info(
      { from: this.binary.version, to: artifact.version },
      'control plane: k3s binary swapped; restarting the server',
    );
    await this.restartOn(dataDirBinary(this.opts.dataDir));
  }

  /** Puts back the binary the last upgrade replaced and restarts the server on it; returns its version. */
  async rollbackUpgrade(): Promise<string> {
    const prev = restorePrevious(this.opts.dataDir);
    this.opts.logger.warn({ to: prev.version }, 'control plane: restoring the previous k3s binary');
    await this.restartOn(prev.path);
    return prev.version;
  }

  private async restartOn(path: string): Promise<void> {
    await this.supervisor?.stop();
    this.watch.disconnect();
    const bin = await probeBinary(path);
    this.binary = bin;
    if (bin.kind !== 'found') {
      this.supervisor = undefined;
      this.setStatic('failed', bin.kind === 'broken' ? bin.reason : `k3s at ${path} is not usable`);
      return;
    }
    this.startSupervisor(bin.path, bin.version);
  }

  private setStatic(state: 'absent' | 'failed', message: string): void {
    const previous = this.staticInfo.state;
    let nextRetryAt: string | null = null;
    if (state === 'failed' && !this.stopped) {
      // A missing or broken binary may be fixed by hand: look for it again after a long backoff.
      const retryIn = failedRetryDelay(++this.staticFailures, this.opts.failedRetryMs);
      nextRetryAt = new Date(Date.now() + retryIn).toISOString();
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(
        () => void this.start().catch((err: unknown) => this.opts.logger.error({ err }, 'control plane retry failed')),
        retryIn,
      );
      this.retryTimer.unref();
    }
    this.staticInfo = {
      state,
      version: null,
      message,
      restarts: 0,
      since: new Date().toISOString(),
      lastLogLines: [],
      nextRetryAt,
    };
    this.opts.logger[state === 'failed' ? 'error' : 'warn']({ state }, message);
    this.opts.onState?.(this.staticInfo, previous);
  }

  info(): ControlPlaneInfo {
    return this.supervisor ? this.supervisor.status() : this.staticInfo;
  }

  running(): boolean {
    return this.info().state === 'running';
  }

  /** The kube client, or undefined when the control plane is not serving. */
  client(): KubeClient | undefined {
    return this.running() ? this.watch.client() : undefined;
  }

  kubeNode(name: string): KubeNodeSummary | undefined {
    return this.watch.node(name);
  }

  /**
   * The hub's own k3s node (the server registers one unless run with --disable-agent), told by the
   * control-plane role k3s gives it; agents cannot set node-role labels. Not an atoll node: no agent
   * runs there, so autoheal and upgrades never see it.
   */
  serverNode(): KubeNodeSummary | undefined {
    return this.watch.serverNode();
  }

  version(): string | null {
    return this.binary.kind === 'found' ? this.binary.version : null;
  }

  /** https://<public host>:<port>: what agents and operators use to reach the kube API. */
  serverUrl(): string {
    const h = this.opts.publicHost.includes(':') ? `[${this.opts.publicHost}]` : this.opts.publicHost;
    return `https://${h}:${this.opts.httpsPort}`;
  }

  /** The admin kubeconfig with its server set to the public URL and named after the cluster, or undefined when absent. */
  kubeconfig(): string | undefined {
    const path = kubeconfigPath(this.opts.dataDir);
    if (!this.supervisor || !existsSync(path)) return undefined;
    return publicKubeconfig(
      readFileSync(path, 'utf8'),
      this.opts.clusterName ?? HUB_DEFAULTS.clusterName,
      this.serverUrl(),
    );
  }

  nodeTokens(): NodeTokenTool | undefined {
    return this.running() ? this.tokens : undefined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.watch.disconnect();
    await this.supervisor?.stop();
  }
}
