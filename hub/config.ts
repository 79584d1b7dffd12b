// Hub configuration: parsed once at the edge (flags > env > defaults) into a frozen object. The hub
// reads no test-only variables itself; those of the k3s stand-in reach it through the environment the
// hub passes to k3s (README.md, "Test-only environment variables").
import { resolve } from 'node:path';
import { ConfigError } from './errors.js';
import { parseHubAddresses } from './config-addresses.js';
import { k3sDatastoreEndpoint } from './k3s/k3s-datastore.js';
import type { DatastoreSpec } from './store/datastore-url.js';
import { checkHubId } from './cluster/hub-id.js';
import {
  clusterSecretFile,
  datastoreOf,
  duration,
  firstNonLoopbackIPv4,
  forgetHubsAfter,
  optionalCount,
  optionalListen,
  parseListen,
  recoveryGrace,
} from './config-values.js';

export { parseListen, firstNonLoopbackIPv4 } from './config-values.js';
import { parseSinkConfig, type SinkConfig } from './sinks/sink-config.js';
import { BACKUP_DEFAULTS, parseBackupConfig, type BackupConfig } from './backup/backup-config.js';
import type { HubFlags } from './config-flags.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export interface HubConfig {
  readonly dataDir: string;
  readonly apiListen: ListenAddress;
  readonly gatewayListen: ListenAddress;
  readonly publicUrl: string;
  /** This hub's own gateway URL (--gateway-url; default --public-url): what welcomes and GET /v1/hubs list. */
  readonly gatewayUrl: string;
  /** Further names for the hub's and its k3s server's serving certificates (--tls-san, repeatable). */
  readonly tlsSans: readonly string[];
  /** Test only (ATOLL_TEST_PEER_GATEWAYS, comma-separated): more hub URLs for the welcome's list. */
  readonly testPeerGateways: readonly string[];
  readonly k3s: 'auto' | 'off' | string;
  readonly heartbeatIntervalMs: number;
  readonly unreachableAfterMs: number;
  readonly logLevel: string;
  /** Lifetime of node client certificates; agents renew at two thirds. */
  readonly nodeCertTtlMs: number;
  /** How long after expiry a node may still renew over HTTPS with its own key (POST /v1/agent/recover). */
  readonly certRecoveryGraceMs: number;
  /** Warn (cert.expiring event, metric, node view) when a node's certificate expires within this. */
  readonly certWarnBeforeMs: number;
  /** Join attempts allowed per source address per minute. */
  readonly joinRateLimitPerMinute: number;
  /** The k3s API port (k3s --https-listen-port). */
  readonly k3sHttpsPort: number;
  /** Extra `k3s server` arguments (--k3s-arg, repeatable). */
  readonly k3sArgs: readonly string[];
  /** k3s's --datastore-endpoint (hub/k3s/k3s-datastore.ts); undefined for its embedded datastore. */
  readonly k3sDatastoreEndpoint: string | undefined;
  /** TTL of per-node k3s bootstrap tokens, in k3s syntax; "0" never expires (they are deleted on removal). */
  readonly k3sNodeTokenTtl: string;
  /** Name of the cluster, user and context in the kubeconfig the hub hands out (--cluster-name). */
  readonly clusterName: string;
  /** Whether the hub's own k3s node takes workloads (--control-plane-schedulable); by default it is tainted NoSchedule. */
  readonly controlPlaneSchedulable: boolean;
  /** How long a node removal may spend draining before it deletes the node anyway. */
  readonly removeDrainTimeoutMs: number;
  /** First delay before restarting a crashed k3s server (doubles per crash). */
  readonly k3sRestartBackoffMs: number;
  /** After the k3s server was marked failed: first delay before trying again (doubles, at most 30 min). */
  readonly k3sFailedRetryMs: number;
  /** How often autoheal looks at the nodes. */
  readonly autohealIntervalMs: number;
  /** How often the autoscaler (hub/autoscale/) looks at pods and pools. */
  readonly autoscaleIntervalMs: number;
  /** How often the auto-upgrade policy looks for a newer artifact inside its window. */
  readonly autoUpgradeIntervalMs: number;
  /** Partition guard: this many agents dropping within this window freezes remediation. */
  readonly autohealGuardWindowMs: number;
  /** More than 2 health changes within this window: flapping. */
  readonly autohealFlapWindowMs: number;
  /** Both listeners: TLS handshake deadline, and the deadline for request headers after it. */
  readonly handshakeTimeoutMs: number;
  /** Connection caps per listener; unset ones derive from the open-file limit (hub/http/connection-limits.ts). */
  readonly connectionCaps: Readonly<Record<'api' | 'gateway', Readonly<{ maxTotal?: number; maxPerSource?: number }>>>;
  /** Events older than this are pruned. */
  readonly eventsMaxAgeMs: number;
  /** At most this many events are kept (the oldest are pruned). */
  readonly eventsMaxCount: number;
  /** Start with an empty store when the existing one is refused (damaged, missing, another CA's). */
  readonly reinitStore: boolean;
  /** The cluster secret that seals the store's secrets (hub/pki/cluster-secret.ts); made at first start. */
  readonly clusterSecretFile: string;
  /** Where the hub's state lives: <data-dir>/hub.db (SQLite) or a PostgreSQL URL with its pool size. */
  readonly datastore: DatastoreSpec;
  /** Where alerts and audit events also go: a webhook, a JSON-lines file (hub/sinks/). */
  readonly sinks: SinkConfig;
  /** Scheduled backups (hub/backup/): off unless --backup-interval. */
  readonly backup: BackupConfig;
  /** This hub's id among the hubs on one datastore (--hub-id; default: made once, kept in <data-dir>/hub-id). */
  readonly hubId?: string;
  /** A hub row without a beat for this long is removed from the hubs' membership (--forget-hubs-after). */
  readonly forgetHubsAfterMs: number;
  /** Where cluster-autoscaler's externalgrpc cloud provider is served over mTLS (--autoscaler-grpc-listen); off when unset. */
  readonly autoscalerGrpcListen?: ListenAddress;
}

export type { HubFlags } from './config-flags.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * The defaults of `atoll-hub run`, written as on the command line: parseHubConfig applies them when
 * neither a flag nor its env variable is given, and `atoll-hub run --help` shows them (hub/main.ts).
 */
export const HUB_DEFAULTS = Object.freeze({
  dataDirAsRoot: '/var/lib/atoll',
  dataDir: './.atoll',
  apiListen: '127.0.0.1:9443',
  gatewayListen: '0.0.0.0:9444',
  k3s: 'auto',
  heartbeatInterval: '10s',
  unreachableAfter: '30s',
  logLevel: 'info',
  nodeCertTtl: '30d',
  certRecoveryGrace: '30d',
  /** At most: a quarter of --node-cert-ttl when that is shorter. */
  certWarnBefore: '7d',
  joinRateLimit: '60',
  k3sHttpsPort: '6443',
  k3sNodeTokenTtl: '0',
  clusterName: 'atoll',
  removeDrainTimeout: '2m',
  k3sRestartBackoff: '1s',
  k3sFailedRetry: '5m',
  autohealInterval: '30s',
  autoscaleInterval: '10s',
  autoUpgradeInterval: '1m',
  autohealGuardWindow: '2m',
  autohealFlapWindow: '15m',
  handshakeTimeout: '10s',
  eventsMaxAge: '30d',
  eventsMaxCount: '100000',
  ...BACKUP_DEFAULTS,
  forgetHubsAfter: '1h',
} satisfies Partial<Record<keyof HubFlags | 'dataDirAsRoot', string>>);
const D = HUB_DEFAULTS;

export function defaultDataDir(env: NodeJS.ProcessEnv, isRoot: boolean): string {
  return env.ATOLL_DATA_DIR ?? (isRoot ? D.dataDirAsRoot : resolve(D.dataDir));
}

export function parseHubConfig(flags: HubFlags, env: NodeJS.ProcessEnv, isRoot: boolean): HubConfig {
  const dataDir = resolve(flags.dataDir ?? defaultDataDir(env, isRoot));
  const apiListen = parseListen(flags.apiListen ?? env.ATOLL_API_LISTEN ?? D.apiListen, '--api-listen');
  const gatewayListen = parseListen(
    flags.gatewayListen ?? env.ATOLL_GATEWAY_LISTEN ?? D.gatewayListen,
    '--gateway-listen',
  );
  const addresses = parseHubAddresses(
    flags,
    env,
    () => `https://${firstNonLoopbackIPv4() ?? '127.0.0.1'}:${gatewayListen.port}`,
  );
  const heartbeatIntervalMs = duration(flags.heartbeatInterval ?? D.heartbeatInterval, '--heartbeat-interval');
  const unreachableAfterMs = duration(flags.unreachableAfter ?? D.unreachableAfter, '--unreachable-after');
  if (unreachableAfterMs <= heartbeatIntervalMs) {
    throw new ConfigError(
      `--unreachable-after (${unreachableAfterMs} ms) must be longer than --heartbeat-interval (${heartbeatIntervalMs} ms)`,
    );
  }
  const logLevel = flags.logLevel ?? env.ATOLL_LOG_LEVEL ?? D.logLevel;
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  const k3s = flags.k3s ?? env.ATOLL_K3S ?? D.k3s;
  const joinRateLimitPerMinute = Number(flags.joinRateLimit ?? env.ATOLL_JOIN_RATE_LIMIT ?? D.joinRateLimit);
  if (!Number.isInteger(joinRateLimitPerMinute) || joinRateLimitPerMinute < 1)
    throw new ConfigError('--join-rate-limit must be a positive integer');
  const eventsMaxCount = Number(flags.eventsMaxCount ?? env.ATOLL_EVENTS_MAX_COUNT ?? D.eventsMaxCount);
  if (!Number.isInteger(eventsMaxCount) || eventsMaxCount < 1)
    throw new ConfigError('--events-max-count must be a positive integer');
  const k3sHttpsPort = Number(flags.k3sHttpsPort ?? env.ATOLL_K3S_HTTPS_PORT ?? D.k3sHttpsPort);
  if (!Number.isInteger(k3sHttpsPort) || k3sHttpsPort < 1 || k3sHttpsPort > 65535)
    throw new ConfigError('--k3s-https-port must be a port number');
  const clusterName = flags.clusterName ?? env.ATOLL_CLUSTER_NAME ?? D.clusterName;
  if (!/^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/.test(clusterName))
    throw new ConfigError(
      `--cluster-name "${clusterName.slice(0, 80)}" must be 1-63 lowercase letters, digits, . and - (starting and ending with a letter or digit)`,
    );
  const handshakeTimeoutMs = duration(flags.handshakeTimeout ?? D.handshakeTimeout, '--handshake-timeout');
  if (handshakeTimeoutMs < 100 || handshakeTimeoutMs > 30_000)
    throw new ConfigError('--handshake-timeout must be between 100ms and 30s');
  const nodeCertTtlMs = duration(flags.nodeCertTtl ?? D.nodeCertTtl, '--node-cert-ttl');
  const datastore = datastoreOf(flags, env, dataDir);
  if (flags.reinitStore && datastore.kind === 'postgres')
    throw new ConfigError(
      '--reinit-store applies to the SQLite store only; a PostgreSQL database is never moved aside',
    );
  return Object.freeze({
    dataDir,
    apiListen,
    gatewayListen,
    publicUrl: addresses.publicUrl,
    gatewayUrl: addresses.gatewayUrl,
    tlsSans: addresses.tlsSans,
    k3s: k3s === 'auto' || k3s === 'off' ? k3s : resolve(k3s),
    heartbeatIntervalMs,
    unreachableAfterMs,
    logLevel,
    nodeCertTtlMs,
    certRecoveryGraceMs: recoveryGrace(flags.certRecoveryGrace ?? D.certRecoveryGrace),
    certWarnBeforeMs: flags.certWarnBefore
      ? duration(flags.certWarnBefore, '--cert-warn-before')
      : Math.min(duration(D.certWarnBefore, '--cert-warn-before'), nodeCertTtlMs / 4),
    joinRateLimitPerMinute,
    k3sHttpsPort,
    k3sArgs: Object.freeze([...(flags.k3sArg ?? [])]),
    k3sDatastoreEndpoint: k3sDatastoreEndpoint(
      datastore,
      flags.k3sDatastoreEndpoint ?? env.ATOLL_K3S_DATASTORE_ENDPOINT,
      flags.k3sArg ?? [],
    ),
    k3sNodeTokenTtl: flags.k3sNodeTokenTtl ?? D.k3sNodeTokenTtl,
    controlPlaneSchedulable: flags.controlPlaneSchedulable === true,
    clusterName,
    removeDrainTimeoutMs: duration(flags.removeDrainTimeout ?? D.removeDrainTimeout, '--remove-drain-timeout'),
    k3sRestartBackoffMs: duration(flags.k3sRestartBackoff ?? D.k3sRestartBackoff, '--k3s-restart-backoff'),
    k3sFailedRetryMs: duration(flags.k3sFailedRetry ?? D.k3sFailedRetry, '--k3s-failed-retry'),
    autohealIntervalMs: duration(flags.autohealInterval ?? D.autohealInterval, '--autoheal-interval'),
    autoscaleIntervalMs: duration(flags.autoscaleInterval ?? D.autoscaleInterval, '--autoscale-interval'),
    autoUpgradeIntervalMs: duration(flags.autoUpgradeInterval ?? D.autoUpgradeInterval, '--auto-upgrade-interval'),
    autohealGuardWindowMs: duration(flags.autohealGuardWindow ?? D.autohealGuardWindow, '--autoheal-guard-window'),
    autohealFlapWindowMs: duration(flags.autohealFlapWindow ?? D.autohealFlapWindow, '--autoheal-flap-window'),
    handshakeTimeoutMs,
    connectionCaps: Object.freeze({
      api: Object.freeze({
        maxTotal: optionalCount(flags.apiMaxConnections, '--api-max-connections'),
        maxPerSource: optionalCount(flags.apiMaxConnectionsPerSource, '--api-max-connections-per-source'),
      }),
      gateway: Object.freeze({
        maxTotal: optionalCount(flags.gatewayMaxConnections, '--gateway-max-connections'),
        maxPerSource: optionalCount(flags.gatewayMaxConnectionsPerSource, '--gateway-max-connections-per-source'),
      }),
    }),
    eventsMaxAgeMs: duration(flags.eventsMaxAge ?? env.ATOLL_EVENTS_MAX_AGE ?? D.eventsMaxAge, '--events-max-age'),
    eventsMaxCount,
    reinitStore: flags.reinitStore === true,
    clusterSecretFile: clusterSecretFile(flags.clusterSecretFile, env, dataDir),
    datastore,
    sinks: parseSinkConfig(flags, env),
    backup: parseBackupConfig(flags, env, dataDir),
    testPeerGateways: Object.freeze(
      (env.ATOLL_TEST_PEER_GATEWAYS ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
    hubId: flags.hubId || env.ATOLL_HUB_ID ? checkHubId(flags.hubId || env.ATOLL_HUB_ID || '') : undefined,
    forgetHubsAfterMs: forgetHubsAfter(flags.forgetHubsAfter ?? env.ATOLL_FORGET_HUBS_AFTER ?? D.forgetHubsAfter),
    autoscalerGrpcListen: optionalListen(flags.autoscalerGrpcListen ?? env.ATOLL_AUTOSCALER_GRPC_LISTEN),
  });
}
