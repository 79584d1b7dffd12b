// What the API routes may use: the hub's services, built once by app.ts.
import type { HubConfig } from '../config.js';
import type { Store } from '../store/types.js';
import type { EventLog } from '../events.js';
import type { NodeRegistry } from '../nodes/registry.js';
import type { CommandService } from '../nodes/commands.js';
import type { TokenService } from '../tokens/token-service.js';
import type { Logger } from '../logger.js';
import type { ControlPlane } from '../k3s/control-plane.js';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { AutohealEngine } from '../autoheal/engine.js';
import type { AutohealSettings } from '../autoheal/settings.js';
import type { UpgradeEngine } from '../upgrades/engine.js';
import type { CertWatch } from '../nodes/cert-watch.js';
import type { VersionSupportService } from '../versions/support-service.js';
import type { AlertService } from '../alerts/alert-service.js';
import type { HubsService } from '../cluster/hubs-service.js';
import type { AutoscalerGrpcAccess } from '../autoscale/grpc/access.js';

export interface ClusterInfo {
  state: 'running' | 'starting' | 'failed' | 'absent';
  version: string | null;
  message: string;
  restarts?: number;
  since?: string;
  lastLogLines?: string[];
  serverUrl?: string | null;
  /** In `failed`: when the hub tries to start its k3s server again by itself. */
  nextRetryAt?: string | null;
  /** The hub's own k3s node, shown (not managed) by atoll; null when there is none (--disable-agent, not running). */
  node?: ControlPlaneNodeInfo | null;
}

export interface ControlPlaneNodeInfo {
  name: string;
  ready: boolean | null;
  unschedulable: boolean;
  taints: string[];
  labels: Record<string, string>;
  kubeletVersion: string;
}

/** The hub's clock as judged against its agents and itself (GET /v1/cluster `clock`). */
export interface ClockStatus {
  /** The hub's own skew (hub minus fleet) when most agents disagree with it by more than 2 min; else null. */
  hubSkewMs: number | null;
  agents: number;
  disagreeing: number;
  /** A step of the hub's own clock is settling: autoheal holds. */
  holding: { offsetMs: number; since: string; until: string } | null;
}

export interface HubServices {
  config: HubConfig;
  store: Store;
  events: EventLog;
  registry: NodeRegistry;
  commands: CommandService;
  tokens: TokenService;
  logger: Logger;
  caPem: string;
  /** curl --pinnedpubkey value of the hub's serving key: install lines carry it. */
  servingPin: string;
  hubVersion: string;
  cluster(): ClusterInfo;
  clockStatus?(): ClockStatus;
  controlPlane: ControlPlane;
  artifacts: ArtifactStore;
  autoheal: AutohealEngine;
  autohealSettings: AutohealSettings;
  upgrades: UpgradeEngine;
  /** Node certificate expiry as last seen by the watch. */
  certs: CertWatch;
  /** Revokes the node's certificates, closes its link, deletes it. false when absent. */
  removeNode(id: string, actor: string): Promise<boolean>;
  /** Day 2: the Kubernetes version support data and status (hub/versions/), and the active alerts (hub/alerts/). */
  versionSupport?: VersionSupportService;
  alerts?: AlertService;
  /** The hubs on this datastore, this hub's id, the live hubs' gateway URLs (hub/cluster/). */
  hubs?: HubsService;
  /** cluster-autoscaler's externalgrpc service: its client certificates (hub/autoscale/grpc/). */
  autoscalerGrpc?: AutoscalerGrpcAccess;
  /** A fresh single-use token and the install line for a pool. */
  joinCommand(
    pool: string,
    actor: string,
    ttlMs?: number,
  ): Promise<{ token: string; tokenId: string; command: string; expiresAt: string }>;
}
