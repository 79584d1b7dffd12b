// The hub, assembled: config in, a started hub out. main.ts only parses flags and calls this. Larger
// parts come wired from their own modules: gateway/hub-gateway.ts, k3s/hub-control-plane.ts, hub-clock.ts.
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import type { HubConfig } from './config.js';
import { prepareDataDir } from './data-dir.js';
import { clusterAdminToken } from './cluster/admin-token.js';
import { DirLockedError, lockDataDir, lockHolder, type DirLock } from '../certs/dir-lock.js';
import { checkListeners, hubListeners } from './listen-check.js';
import { listenHub } from './listen-hub.js';
import { startHousekeeping } from './housekeeping.js';
import { openHubStateFor } from './open-state.js';
import { createEventLog } from './events.js';
import { EventRetention } from './event-retention.js';
import { createHealthBatcher } from './nodes/health-batcher.js';
import { createHealthSampler } from './nodes/health-sampler.js';
import { NodeRegistry } from './nodes/registry.js';
import { CommandService } from './nodes/commands.js';
import { createTokenService } from './tokens/token-service.js';
import { CertRenewal } from './nodes/cert-renewal.js';
import { CertWatch } from './nodes/cert-watch.js';
import { buildApi } from './api/server.js';
import type { HubServices } from './api/services.js';
import { clusterInfo } from './api/cluster-info.js';
import { createDay2 } from './day2.js';
import { readHubVersion } from './version.js';
import { startHubClock } from './hub-clock.js';
import { writeRuntimeFile } from './runtime-file.js';
import { buildHubGateway } from './gateway/hub-gateway.js';
import { createHubControlPlane } from './k3s/hub-control-plane.js';
import { ArtifactStore } from './artifacts/artifact-store.js';
import { packagePaths } from './installer/package-files.js';
import { AutohealEngine } from './autoheal/engine.js';
import { AutohealSettings } from './autoheal/settings.js';
import { replacementDocs } from './autoheal/replacement-doc.js';
import { autoscaleRole } from './autoscale/wiring.js';
import { joinCommands } from './tokens/join-command.js';
import { nodeRemoval } from './nodes/node-removal.js';
import { createMetrics } from './metrics.js';
import { UpgradeEngine } from './upgrades/engine.js';
import { connectionCapsFor } from './http/connection-caps.js';
import type { Hub, HubDeps } from './hub-types.js';
import { createHubCluster, remoteNodeView } from './cluster/hub-cluster.js';
import type { Listener, ListenerLimits } from './http/connection-limits.js';

export type { Hub, HubDeps } from './hub-types.js';

export async function startHub(config: HubConfig, deps: HubDeps): Promise<Hub> {
  // Ports first, before anything is written; a port held by this data dir's own hub says so.
  try {
    await checkListeners(hubListeners(config));
  } catch (err) {
    const holder = lockHolder(config.dataDir);
    throw holder ? new DirLockedError(config.dataDir, holder) : err;
  }
  prepareDataDir(config.dataDir);
  // One hub per data dir: a second one refuses here, before it writes anything.
  const lock = lockDataDir(config.dataDir);
  try {
    return await assemble(config, deps, lock);
  } catch (err) {
    lock.release();
    throw err;
  }
}

async function assemble(config: HubConfig, deps: HubDeps, lock: DirLock): Promise<Hub> {
  const log = deps.logger;
  const { store, pki, movedAside, clusterSecret, k3sServerToken } = await openHubStateFor(config, log);
  const admin = await clusterAdminToken(config, store, clusterSecret, log); // the same on every hub
  const hubVersion = readHubVersion();
  const events = createEventLog(store, log.child({ component: 'events' }));
  const retention = new EventRetention(store, log.child({ component: 'events' }), {
    maxAgeMs: config.eventsMaxAgeMs,
    maxCount: config.eventsMaxCount,
  });
  // The hub's time (hub-clock.ts): monotonic for liveness and ages, wall time steady through a clock step.
  const hubClock = startHubClock({ heartbeatIntervalMs: config.heartbeatIntervalMs, events, logger: log });
  const { clock, fleetSkew } = hubClock;
  const cluster = createHubCluster(config, { store, clock, logger: log }); // hub id, leases, fencing (hub/cluster/)
  const batcher = createHealthBatcher(store, log.child({ component: 'health' }), {
    sampler: createHealthSampler(),
    clock,
  });
  const registry = new NodeRegistry({
    store,
    events,
    batcher,
    logger: log.child({ component: 'registry' }),
    unreachableAfterMs: config.unreachableAfterMs,
    flapWindowMs: config.autohealFlapWindowMs,
    clock,
    skew: fleetSkew,
  });
  await registry.load();
  const commands = new CommandService({
    store,
    events,
    logger: log.child({ component: 'commands' }),
    link: (id) => registry.link(id),
    now: () => clock.now(),
  });
  const tokens = createTokenService({ store, caPin: pki.caPin, now: () => new Date(clock.now()) });
  mkdirSync(join(config.dataDir, 'artifacts'), { recursive: true, mode: 0o755 });
  const artifacts = new ArtifactStore(join(config.dataDir, 'artifacts'), packagePaths().agentArtifactsDir);

  const cpLog = log.child({ component: 'k3s' });
  const { controlPlane, nodeK3s } = createHubControlPlane(config, {
    store,
    registry,
    artifacts,
    events,
    logger: cpLog,
    k3sServerToken,
    sealKey: clusterSecret,
  });

  const removeNode = nodeRemoval({ store, events, registry, nodeK3s });
  const autohealSettings = new AutohealSettings(store);
  const autoheal = new AutohealEngine({
    ...{ store: cluster.fenced('autoheal'), leads: cluster.leads('autoheal') },
    ...{ events, registry },
    controlPlane,
    logger: log.child({ component: 'autoheal' }),
    settings: autohealSettings,
    removeNode,
    cloudInit: replacementDocs({ tokens, events, publicUrl: config.publicUrl, caPem: pki.ca.certPem }),
    intervalMs: config.autohealIntervalMs,
    guardWindowMs: config.autohealGuardWindowMs,
    startupGraceMs: config.unreachableAfterMs + 5_000,
    flapWindowMs: config.autohealFlapWindowMs,
    ...{ clock, clockHold: () => clock.holding() },
  });
  // Day 2 (hub/day2.ts): version support, alerts and the sinks for alerts and audit events.
  const day2 = await createDay2({
    ...{ store, events, registry, logger: log, now: () => clock.now(), cluster: () => clusterInfo(controlPlane) },
    ...{ guard: () => autoheal.guardState(), caPem: pki.ca.certPem, servingPem: pki.serving.certPem },
    ...{ certWarnBeforeMs: config.certWarnBeforeMs, sinks: config.sinks, hub: config.publicUrl, backups: config },
    alertIntervalMs: Math.max(1000, Math.min(15_000, config.unreachableAfterMs)),
    ...{ leads: cluster.leads, fenced: cluster.fenced, hubId: cluster.hubId },
    lifespan: { tokens, controlPlane, removeNode, settings: autohealSettings, intervalMs: config.autohealIntervalMs },
  });
  const upgrades = new UpgradeEngine({
    store: cluster.fenced('upgrades'),
    ...{ leads: cluster.leads('upgrades'), unfenced: store, heldElsewhere: remoteNodeView(store, () => services.hubs) },
    events,
    registry,
    controlPlane,
    nodeK3s,
    artifacts,
    autohealSettings,
    logger: log.child({ component: 'upgrades' }),
    autoTickMs: config.autoUpgradeIntervalMs,
    clock,
    versionSupport: (v) => day2.versionSupport.status(v),
  });
  const certLog = log.child({ component: 'certs' });
  const renewal = new CertRenewal({
    store,
    ca: pki.ca,
    events,
    logger: certLog,
    ttlMs: config.nodeCertTtlMs,
    expiredGraceMs: config.certRecoveryGraceMs,
  });
  const certWatch = new CertWatch({
    store,
    registry,
    events,
    logger: certLog,
    warnBeforeMs: config.certWarnBeforeMs,
    intervalMs: Math.min(30_000, Math.max(250, config.nodeCertTtlMs / 20)),
  });
  const services: HubServices = {
    config,
    store,
    events,
    registry,
    commands,
    tokens,
    logger: log,
    caPem: pki.ca.certPem,
    servingPin: pki.servingPin,
    hubVersion,
    cluster: () => clusterInfo(controlPlane),
    ...{ controlPlane, artifacts, autoheal, autohealSettings, upgrades, removeNode, certs: certWatch },
    clockStatus: () => ({ ...fleetSkew.status(), holding: clock.holding() ?? null }),
    ...{ versionSupport: day2.versionSupport, alerts: day2.alerts },
    joinCommand: joinCommands({ tokens, events, publicUrl: config.publicUrl, servingPin: pki.servingPin }),
  };

  const metrics = createMetrics({
    events,
    nodes: registry,
    controlPlane,
    autoheal: () => autoheal,
    store,
    certWarnBeforeMs: config.certWarnBeforeMs,
  });
  await day2.start(metrics.registry); // before anything is noted, so the sinks see every event from here

  const caps = connectionCapsFor(config, log);
  const limits = (listener: Listener): ListenerLimits => ({
    caps: caps[listener],
    handshakeTimeoutMs: config.handshakeTimeoutMs,
    observer: metrics.connections,
  });
  const gateway = await buildHubGateway(services, {
    pki,
    renewal,
    nodeK3s,
    metrics,
    limits: limits('gateway'),
    clock,
    logger: log.child({ component: 'gateway' }),
    liveGatewayUrls: deps.liveGatewayUrls ?? (() => services.hubs?.liveGatewayUrls() ?? [config.publicUrl]),
    shouldShedAgents: deps.shouldShedAgents ?? (() => services.hubs?.shouldShedAgents() ?? false),
  });

  const api = await buildApi(services, {
    tls: pki.serving,
    adminToken: admin,
    metrics: metrics.registry,
    limits: limits('api'),
  });
  await (await import('./autoscale/grpc/serve.js')).serveAutoscalerGrpc(config, services, api, pki, metrics);
  const { apiUrl, gatewayPort } = await listenHub(config, api, gateway).catch(async (err: unknown) => {
    await day2.stop();
    await store.close();
    throw err;
  });
  const gatewayUrl = config.gatewayUrl; // this hub's own (direct) gateway URL

  await controlPlane.start();
  certWatch.start();
  services.hubs = await cluster.start(
    { apiUrl, gatewayUrl, registry, commands, events, nodeK3s, caPem: pki.ca.certPem },
    {
      ...{ autoheal, upgrades, ...day2.singletons },
      'event-retention': { start: () => retention.start(events), stop: () => retention.stop() },
      autoscale: autoscaleRole(services, cluster, metrics.registry),
    },
  );
  const stopHousekeeping = startHousekeeping({
    leadsPurges: cluster.leads('purges'),
    registry,
    commands,
    nodeK3s,
    unreachableAfterMs: config.unreachableAfterMs,
    logger: log,
    purgeLogger: cpLog,
  });
  const removeRuntimeFile = writeRuntimeFile(config.dataDir, { apiUrl, gatewayUrl, gatewayPort }); // for admin commands
  if (movedAside)
    await events.record({
      type: 'store.reinitialized',
      actor: 'hub',
      message: `--reinit-store: the refused store was moved to ${movedAside}; this store started empty`,
      data: { movedAside },
    });
  await events.note({
    type: 'hub.started',
    actor: 'hub',
    message: `hub ${hubVersion} started; API ${apiUrl}, gateway ${gatewayUrl}`,
  });

  let stopping: Promise<void> | undefined;
  return {
    apiUrl,
    gatewayUrl,
    adminTokenPath: admin.path,
    services,
    api,
    gateway,
    unhandledRejection: () => metrics.unhandledRejection(),
    stop() {
      stopping ??= (async () => {
        await cluster.stop();
        stopHousekeeping();
        hubClock.stop();
        certWatch.stop();
        await autoheal.stop();
        await upgrades.stop();
        registry.closeAll('HUB_SHUTDOWN', 'the hub is stopping; reconnect later');
        await api.close();
        await gateway.close();
        await batcher.stop();
        await retention.stop();
        // A backup in flight finishes before k3s stops: an etcd snapshot needs the server.
        await day2.stop();
        await controlPlane.stop();
        removeRuntimeFile();
        await store.close();
        lock.release();
      })();
      return stopping;
    },
  };
}
