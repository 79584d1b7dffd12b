// Day-2 operations, assembled: version support (data, status watch and notices), alerts (sources,
// first-seen times, metrics), the sinks that carry alerts and audit events out (webhook, JSON
// lines), node lifespan (hub/lifespan/) and scheduled backups (the schedule runs on the `backups`
// leader: singletons). app.ts builds this once and starts it after the listeners are up.
import type { Registry } from 'prom-client';
import type { Store } from './store/types.js';
import type { EventLog } from './events.js';
import type { Logger } from './logger.js';
import type { NodeRegistry } from './nodes/registry.js';
import type { ClusterInfo } from './api/services.js';
import type { GuardState } from './autoheal/guard.js';
import type { Rollout } from './upgrades/rollout-state.js';
import type { SinkConfig } from './sinks/sink-config.js';
import { VersionSupportService } from './versions/support-service.js';
import { SupportWatch } from './versions/support-watch.js';
import { AlertService } from './alerts/alert-service.js';
import { autohealSource, controlPlaneSource, nodeSource, rolloutSource } from './alerts/state-sources.js';
import { certificateSource, versionSource } from './alerts/expiry-sources.js';
import { registerDay2Metrics } from './day2-metrics.js';
import { autoscaleSource } from './autoscale/alert-source.js';
import { startEventSinks, type EventSinks } from './sinks/event-sinks.js';
import type { HubConfig } from './config.js';
import { BackupSchedule } from './backup/backup-schedule.js';
import type { Role } from './cluster/leadership.js';
import type { Singleton } from './cluster/hub-cluster.js';
import type { TokenService } from './tokens/token-service.js';
import type { AutohealSettings } from './autoheal/settings.js';
import type { ControlPlane } from './k3s/control-plane.js';
import type { RemoveNode } from './nodes/node-removal.js';
import { replacementDocs } from './autoheal/replacement-doc.js';
import { LifespanEngine } from './lifespan/engine.js';
import { lifespanSource } from './lifespan/alert-source.js';

export interface Day2Deps {
  store: Store;
  events: EventLog;
  registry: NodeRegistry;
  logger: Logger;
  /** Wall time (ms), the hub's clock. */
  now: () => number;
  cluster: () => ClusterInfo;
  guard: () => GuardState;
  caPem: string;
  servingPem: string;
  /** Node certificates alert within this (--cert-warn-before). */
  certWarnBeforeMs: number;
  sinks: SinkConfig;
  /** The hub's public URL, named in what the sinks send. */
  hub: string;
  /** How often alerts are evaluated without a reader (and sent to the sinks). */
  alertIntervalMs: number;
  supportIntervalMs?: number;
  /** Scheduled backups (--backup-interval), the age metric and the backup-too-old alert (hub/backup/). */
  backups?: Pick<HubConfig, 'dataDir' | 'datastore' | 'clusterSecretFile' | 'backup'>;
  /** Whether this hub leads a singleton role (hub/cluster/leadership.ts): the support watch's notices, lifespan. */
  leads?: (role: Role) => () => boolean;
  /** This hub's id among the hubs on one datastore (named in what the scheduled backups record). */
  hubId?: string;
  /** The store a singleton role writes through, fenced with this hub's lease (lifespan's state). */
  fenced?: (role: Role) => Store;
  /** Node lifespan (hub/lifespan/): what it needs beyond the above; it ticks at `intervalMs`. */
  lifespan?: {
    tokens: TokenService;
    controlPlane: Pick<ControlPlane, 'client'>;
    removeNode: RemoveNode;
    settings: AutohealSettings;
    intervalMs: number;
  };
}

export interface Day2 {
  versionSupport: VersionSupportService;
  supportWatch: SupportWatch;
  alerts: AlertService;
  lifespan?: LifespanEngine;
  /** Run by the leader of their role only (HubCluster.start): the backup schedule. */
  singletons: Partial<Record<Role, Singleton>>;
  /** Registers the metrics, starts the watch, the alert timer and the sinks. */
  start(metrics: Registry): Promise<void>;
  stop(): Promise<void>;
}

/** Rollouts looked at for halted ones: the newest this many. */
const RECENT_ROLLOUTS = 50;

export async function createDay2(d: Day2Deps): Promise<Day2> {
  const log = d.logger.child({ component: 'day2' });
  const versionSupport = new VersionSupportService({ store: d.store, events: d.events, now: d.now });
  await versionSupport.load();
  const cpVersion = (): string | null => {
    const c = d.cluster();
    return c.state === 'running' ? c.version : null;
  };
  const supportWatch = new SupportWatch({
    support: versionSupport,
    store: d.store,
    events: d.events,
    registry: d.registry,
    controlPlaneVersion: cpVersion,
    logger: log,
    intervalMs: d.supportIntervalMs ?? 60_000,
    now: d.now,
    leads: d.leads?.('support-watch'),
  });
  const b = d.backups;
  const backups =
    b &&
    new BackupSchedule({
      ...{ source: b, config: b.backup, events: d.events, logger: log, now: d.now, hubId: d.hubId },
      shared: b.datastore.kind === 'postgres' ? d.store : undefined,
    });
  const lifespan =
    d.lifespan &&
    new LifespanEngine({
      ...d.lifespan,
      ...{ store: d.fenced?.('lifespan') ?? d.store, events: d.events, registry: d.registry },
      logger: log.child({ component: 'lifespan' }),
      cloudInit: replacementDocs({ tokens: d.lifespan.tokens, events: d.events, publicUrl: d.hub, caPem: d.caPem }),
      now: d.now,
      frozen: () => d.guard().frozen,
      leads: d.leads?.('lifespan'),
    });
  const alerts = new AlertService({
    store: d.store,
    logger: log,
    now: d.now,
    intervalMs: d.alertIntervalMs,
    sources: [
      controlPlaneSource(d.cluster),
      nodeSource(() => d.registry.snapshot()),
      certificateSource({
        store: d.store,
        nodeOf: (id) => d.registry.snapshotOf(id),
        caPem: d.caPem,
        servingPem: d.servingPem,
        nodeWithinMs: d.certWarnBeforeMs,
      }),
      versionSource({
        controlPlane: () => {
          const version = cpVersion();
          return version ? { version, support: versionSupport.status(version) } : null;
        },
        nodeGroups: () => supportWatch.nodeGroups(),
      }),
      autohealSource(d.guard),
      rolloutSource(() => d.store.listRollouts<Rollout>({ limit: RECENT_ROLLOUTS })),
      ...(backups ? [backups.alertSource()] : []),
      lifespanSource(d.store),
      autoscaleSource(d.store),
    ],
  });
  let sinks: EventSinks | undefined;
  let unsubscribe: (() => void) | undefined;
  return {
    versionSupport,
    supportWatch,
    alerts,
    lifespan,
    // Losing the role does not wait for a backup in flight (a long one would hold up other role changes).
    singletons: backups ? { backups: { start: () => backups.start(), stop: () => backups.stop({ wait: false }) } } : {},
    async start(metrics) {
      registerDay2Metrics(metrics, { supportWatch, alerts, caPem: d.caPem, servingPem: d.servingPem });
      sinks = await startEventSinks({
        config: d.sinks,
        events: d.events,
        onAlert: (l) => alerts.onChange(l),
        logger: d.logger,
        registry: metrics,
        hub: d.hub,
      });
      supportWatch.start();
      backups?.registerMetrics(metrics); // the schedule itself runs on the backups leader (singletons)
      // Any recorded event may change what is active (a dismissed rollout, a removed node).
      unsubscribe = d.events.subscribe(() => alerts.changed());
      alerts.start();
      lifespan?.start();
    },
    async stop() {
      await lifespan?.stop();
      supportWatch.stop();
      await backups?.stop();
      unsubscribe?.();
      alerts.stop();
      await sinks?.stop();
    },
  };
}
