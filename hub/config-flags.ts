// The flags of `atoll-hub run` as commander hands them over (hub/main.ts), before parseHubConfig
// (config.ts) checks them and applies the defaults: all strings, as typed.
import type { SinkFlags } from './sinks/sink-config.js';
import type { BackupFlags } from './backup/backup-config.js';

export interface HubFlags extends SinkFlags, BackupFlags {
  dataDir?: string;
  apiListen?: string;
  gatewayListen?: string;
  publicUrl?: string;
  gatewayUrl?: string;
  tlsSan?: string[];
  k3s?: string;
  heartbeatInterval?: string;
  unreachableAfter?: string;
  logLevel?: string;
  nodeCertTtl?: string;
  certRecoveryGrace?: string;
  certWarnBefore?: string;
  joinRateLimit?: string;
  k3sHttpsPort?: string;
  k3sArg?: string[];
  k3sDatastoreEndpoint?: string;
  k3sNodeTokenTtl?: string;
  controlPlaneSchedulable?: boolean;
  clusterName?: string;
  removeDrainTimeout?: string;
  k3sRestartBackoff?: string;
  k3sFailedRetry?: string;
  autohealInterval?: string;
  autoscaleInterval?: string;
  autoUpgradeInterval?: string;
  autohealGuardWindow?: string;
  autohealFlapWindow?: string;
  handshakeTimeout?: string;
  apiMaxConnections?: string;
  apiMaxConnectionsPerSource?: string;
  gatewayMaxConnections?: string;
  gatewayMaxConnectionsPerSource?: string;
  eventsMaxAge?: string;
  eventsMaxCount?: string;
  reinitStore?: boolean;
  clusterSecretFile?: string;
  datastore?: string;
  datastorePoolSize?: string;
  hubId?: string;
  forgetHubsAfter?: string;
  autoscalerGrpcListen?: string;
}
