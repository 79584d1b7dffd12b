// The hub's control plane: finds k3s per --k3s, supervises `k3s server`, and once it is ready offers
// the Kubernetes view (nodes by name), per-node join tokens, drains and removals. In `absent` or
// `off` every method degrades to a clear "no control plane" answer; nothing else in the hub breaks.
import { readFileSync, existsSync } from 'node:fs';
import { networkInterfaces, arch as osArch } from 'node:os';
import type { Logger } from '../logger.js';
import { resolveK3s, type K3sBinary } from './binary.js';
import { serverArgs, k3sDataDir, kubeconfigPath } from './server-args.js';
import { K3sSupervisor, type ControlPlaneInfo } from './supervisor.js';
import { KubeClient, type KubeNodeSummary } from './kube.js';
import { createNodeTokenTool, type NodeTokenTool } from './node-tokens.js';
import type { ArtifactStore } from '../artifacts/artifact-store.js';

export interface ControlPlaneOptions {
  mode: string;
  dataDir: string;
  publicHost: string;
  httpsPort: number;
  extraArgs: readonly string[];
  nodeTokenTtl: string;
  restartBackoffMs?: number;
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
  private kube?: KubeClient;
  private stopWatch?: () => void;
  private tokens?: NodeTokenTool;
  private readonly kubeNodes = new Map<string, KubeNodeSummary>();
  private staticInfo: ControlPlaneInfo = { state: 'absent', version: null, message: 'not started', restarts: 0, since: new Date().toISOString(), lastLogLines: [] };

  constructor(private readonly opts: ControlPlaneOptions) {}

  async start(): Promise<void> {
    const log = this.opts.logger;
    this.binary = await resolveK3s(this.opts.mode, this.opts.dataDir);
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
    const hostArch = NODE_ARCH[osArch()] ?? osArch();
    if (!this.opts.artifacts.getK3s(version, hostArch)) {
      try {
        await this.opts.artifacts.importK3s(version, hostArch, path);
        log.info({ version, arch: hostArch }, 'imported the running k3s binary as an artifact');
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'could not import the running k3s binary');
      }
    }
    this.tokens = createNodeTokenTool({ binary: path, k3sDataDir: k3sDataDir(this.opts.dataDir), kubeconfig: kubeconfigPath(this.opts.dataDir), ttl: this.opts.nodeTokenTtl });
    this.supervisor = new K3sSupervisor({
      binary: path,
      version,
      args: serverArgs({ dataDir: this.opts.dataDir, publicHost: this.opts.publicHost, httpsPort: this.opts.httpsPort, localAddresses: localAddresses(), extraArgs: this.opts.extraArgs }),
      k3sDataDir: k3sDataDir(this.opts.dataDir),
      kubeconfigPath: kubeconfigPath(this.opts.dataDir),
      httpsPort: this.opts.httpsPort,
      logger: log,
      env: this.opts.env,
      backoffBaseMs: this.opts.restartBackoffMs,
      onState: (info, previous) => {
        if (info.state === 'running') this.connectKube();
        else this.disconnectKube();
        this.opts.onState?.(info, previous);
      },
    });
    this.supervisor.start();
  }

  private setStatic(state: 'absent' | 'failed', message: string): void {
    const previous = this.staticInfo.state;
    this.staticInfo = { state, version: null, message, restarts: 0, since: new Date().toISOString(), lastLogLines: [] };
    this.opts.logger[state === 'failed' ? 'error' : 'warn']({ state }, message);
    this.opts.onState?.(this.staticInfo, previous);
  }

  private connectKube(): void {
    if (this.kube) return;
    this.kube = new KubeClient(kubeconfigPath(this.opts.dataDir), this.opts.logger.child({ component: 'kube' }));
    this.stopWatch = this.kube.watchNodes((type, node) => {
      if (type === 'DELETED') this.kubeNodes.delete(node.name);
      else this.kubeNodes.set(node.name, node);
      this.opts.onKubeNode?.(type, node);
    });
  }

  private disconnectKube(): void {
    this.stopWatch?.();
    this.stopWatch = undefined;
    this.kube = undefined;
  }

  info(): ControlPlaneInfo {
    return this.supervisor ? this.supervisor.status() : this.staticInfo;
  }

  running(): boolean {
    return this.info().state === 'running';
  }

  /** The kube client, or undefined when the control plane is not serving. */
  client(): KubeClient | undefined {
    return this.running() ? this.kube : undefined;
  }

  kubeNode(name: string): KubeNodeSummary | undefined {
    return this.kubeNodes.get(name);
  }

  version(): string | null {
    return this.binary.kind === 'found' ? this.binary.version : null;
  }

  /** https://<public host>:<port>: what agents and operators use to reach the kube API. */
  serverUrl(): string {
    const h = this.opts.publicHost.includes(':') ? `[${this.opts.publicHost}]` : this.opts.publicHost;
    return `https://${h}:${this.opts.httpsPort}`;
  }

  /** The admin kubeconfig with its server set to the public URL, or undefined when absent. */
  kubeconfig(): string | undefined {
    const path = kubeconfigPath(this.opts.dataDir);
    if (!this.supervisor || !existsSync(path)) return undefined;
    return readFileSync(path, 'utf8').replace(/server: https:\/\/[^\s]+/g, `server: ${this.serverUrl()}`);
  }

  nodeTokens(): NodeTokenTool | undefined {
    return this.running() ? this.tokens : undefined;
  }

  async stop(): Promise<void> {
    this.disconnectKube();
    await this.supervisor?.stop();
  }
}
