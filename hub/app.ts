// The hub, assembled: config in, a started hub out. main.ts only parses flags and calls this.
import { join } from 'node:path';
import { writeFileSync, rmSync, mkdirSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { HubConfig } from './config.js';
import type { Logger } from './logger.js';
import { prepareDataDir, loadOrCreateAdminToken } from './data-dir.js';
import { DirLockedError, lockDataDir, lockHolder, type DirLock } from '../certs/dir-lock.js';
import { checkListeners, hubListeners, listenRefusal } from './listen-check.js';
import { openHubState } from './open-state.js';
import { createEventLog } from './events.js';
import { EventRetention } from './event-retention.js';
import { createHealthBatcher } from './nodes/health-batcher.js';
import { createHealthSampler } from './nodes/health-sampler.js';
import { NodeRegistry } from './nodes/registry.js';
import { CommandService } from './nodes/commands.js';
import { createTokenService } from './tokens/token-service.js';
import { sha256Hex } from './tokens/secrets.js';
import { buildGateway, verifyClientCert } from './gateway/server.js';
import { createRateLimiter } from './gateway/rate-limit.js';
import { joinHandler } from './gateway/join-handler.js';
import { agentConnector } from './gateway/agent-connect.js';
import { CertRenewal } from './nodes/cert-renewal.js';
import { CertWatch } from './nodes/cert-watch.js';
import { IdentityGuard } from './nodes/identity-guard.js';
import { recoverRoute } from './gateway/recover-route.js';
import { recoverCert } from './nodes/cert-recovery.js';
import { buildApi } from './api/server.js';
import type { ClusterInfo, ControlPlaneNodeInfo, HubServices } from './api/services.js';
import { readHubVersion } from './version.js';
import { ControlPlane, isControlPlaneNode } from './k3s/control-plane.js';
import { NodeK3s } from './k3s/node-k3s.js';
import { ArtifactStore } from './artifacts/artifact-store.js';
import { packagePaths } from './installer/package-files.js';
import { artifactRoutes } from './gateway/artifact-routes.js';
import { installerRoutes } from './installer/routes.js';
import { AutohealEngine } from './autoheal/engine.js';
import { AutohealSettings } from './autoheal/settings.js';
import { replacementDocs } from './autoheal/replacement-doc.js';
import { joinCommands } from './tokens/join-command.js';
import { nodeRemoval } from './nodes/node-removal.js';
import { createMetrics } from './metrics.js';
import { UpgradeEngine } from './upgrades/engine.js';
import { connectionCapsFor } from './http/connection-caps.js';
import type { Listener, ListenerLimits } from './http/connection-limits.js';
import { systemClock } from './clock.js';
import { ClockWatch } from './clock-watch.js';
import { FleetSkew } from './nodes/fleet-skew.js';
import { signedDuration } from './autoheal/guard.js';
import { logFailure } from '../certs/log-failure.js';
import { createDay2 } from './day2.js';

export interface Hub {
  apiUrl: string;
  gatewayUrl: string;
  adminTokenPath: string;
  services: HubServices;
  api: FastifyInstance;
  gateway: FastifyInstance;
  /** Counts a rejection nobody caught (main.ts logs it) in atoll_unhandled_rejections_total. */
  unhandledRejection(): void;
  stop(): Promise<void>;
}

export interface HubDeps {
  logger: Logger;
}

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
  const { store, pki, movedAside } = await openHubState({
    dataDir: config.dataDir,
    publicUrl: config.publicUrl,
    reinitStore: config.reinitStore,
    logger: log,
  });
  if (pki.created) log.info({ component: 'pki', caPin: pki.caPin }, 'created the hub CA');
  const admin = loadOrCreateAdminToken(config.dataDir);
  const hubVersion = readHubVersion();
  const events = createEventLog(store, log.child({ component: 'events' }));
  const retention = new EventRetention(store, log.child({ component: 'events' }), {
    maxAgeMs: config.eventsMaxAgeMs,
    maxCount: config.eventsMaxCount,
  });
  // The hub's time: liveness and ages on the monotonic clock; wall time held steady through a step
  // of the hub's own clock until it settled (clock-watch.ts); agents' skew judged against the fleet.
  let fleetSkew: FleetSkew | undefined = undefined;
  const clock = new ClockWatch({
    clock: systemClock,
    settleMs: Math.max(120_000, 4 * config.heartbeatIntervalMs),
    onStep: (step, hold) => {
      log.warn({ offsetMs: step.offsetMs, hold }, "the hub's own clock stepped");
      events
        .note({
          type: 'hub.clock-step',
          actor: 'hub',
          message: `the hub's own clock stepped ${signedDuration(step.offsetMs)} (wall vs monotonic); autoheal holds and the hub keeps its time until ${hold.until}`,
          data: { offsetMs: step.offsetMs, netOffsetMs: hold.offsetMs, until: hold.until },
        })
        .catch(logFailure(log, 'noting a clock step'));
    },
    onSettled: (offsetMs) => {
      fleetSkew?.shift(offsetMs);
      if (Math.abs(offsetMs) >= 1000)
        events
          .note({
            type: 'hub.clock-step',
            actor: 'hub',
            message: `the hub's clock stayed ${signedDuration(offsetMs)} off its earlier time after settling; the hub follows it now`,
            data: { offsetMs, settled: true },
          })
          .catch(logFailure(log, 'noting a settled clock'));
    },
  });
  fleetSkew = new FleetSkew(clock);
  const clockTimer = setInterval(() => clock.check(), 1000);
  clockTimer.unref();
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
  const controlPlane = new ControlPlane({
    mode: config.k3s,
    dataDir: config.dataDir,
    publicHost: new URL(config.publicUrl).hostname.replace(/^\[|\]$/g, ''),
    httpsPort: config.k3sHttpsPort,
    extraArgs: config.k3sArgs,
    nodeTokenTtl: config.k3sNodeTokenTtl,
    schedulable: config.controlPlaneSchedulable,
    clusterName: config.clusterName,
    restartBackoffMs: config.k3sRestartBackoffMs,
    failedRetryMs: config.k3sFailedRetryMs,
    artifacts,
    logger: cpLog,
    onState: (info, previous) => {
      // While the kube API is down, what its watch said about the nodes is stale: readiness unknown.
      if (info.state !== 'running') registry.kubeUnknown();
      events
        .note({
          type: 'k3s.state',
          actor: 'hub',
          message: `control plane ${previous} -> ${info.state}: ${info.message}`,
          data: {
            from: previous,
            to: info.state,
            restarts: info.restarts,
            lastLogLines: info.state === 'failed' ? info.lastLogLines : [],
          },
        })
        .catch(logFailure(cpLog, 'noting a control plane state'));
      if (info.state === 'running') {
        nodeK3s.assignAll().catch(logFailure(cpLog, 'assigning k3s to the nodes'));
        nodeK3s.purgePending().catch(logFailure(cpLog, 'purging removed nodes'));
      }
    },
    // The hub's own node is no agent's: it never feeds an atoll node's state (autoheal, upgrades).
    onKubeNode: (type, n) => {
      if (!isControlPlaneNode(n))
        registry
          .kubeUpdate(n.name, type === 'DELETED' ? undefined : n)
          .catch(logFailure(cpLog, 'recording a kube node update'));
    },
  });
  // Its callbacks above run only once the control plane starts (after assembly).
  const nodeK3s = new NodeK3s({
    controlPlane,
    store,
    registry,
    artifacts,
    events,
    logger: cpLog,
    removeDrainTimeoutMs: config.removeDrainTimeoutMs,
  });

  const serverNodeInfo = (): ControlPlaneNodeInfo | null => {
    const n = controlPlane.running() ? controlPlane.serverNode() : undefined;
    return n
      ? {
          name: n.name,
          ready: n.ready,
          unschedulable: n.unschedulable,
          taints: n.taints,
          labels: n.labels,
          kubeletVersion: n.kubeletVersion,
        }
      : null;
  };
  const cluster = (): ClusterInfo => {
    const i = controlPlane.info();
    return {
      state: i.state === 'stopped' ? 'absent' : i.state,
      version: controlPlane.version(),
      message: i.message,
      restarts: i.restarts,
      since: i.since,
      lastLogLines: i.lastLogLines,
      serverUrl: controlPlane.running() ? controlPlane.serverUrl() : null,
      nextRetryAt: i.nextRetryAt ?? null,
      node: serverNodeInfo(),
    };
  };

  const removeNode = nodeRemoval({ store, events, registry, nodeK3s });
  const autohealSettings = new AutohealSettings(store);
  const autoheal = new AutohealEngine({
    store,
    events,
    registry,
    controlPlane,
    logger: log.child({ component: 'autoheal' }),
    settings: autohealSettings,
    removeNode,
    cloudInit: replacementDocs({ tokens, events, publicUrl: config.publicUrl, caPem: pki.ca.certPem }),
    intervalMs: config.autohealIntervalMs,
    guardWindowMs: config.autohealGuardWindowMs,
    startupGraceMs: config.unreachableAfterMs + 5_000,
    flapWindowMs: config.autohealFlapWindowMs,
    clock,
    clockHold: () => clock.holding(),
  });
  // Day 2 (hub/day2.ts): version support, alerts and the sinks for alerts and audit events.
  const day2 = await createDay2({
    store,
    events,
    registry,
    logger: log,
    now: () => clock.now(),
    cluster,
    guard: () => autoheal.guardState(),
    caPem: pki.ca.certPem,
    servingPem: pki.serving.certPem,
    certWarnBeforeMs: config.certWarnBeforeMs,
    sinks: config.sinks,
    hub: config.publicUrl,
    alertIntervalMs: Math.max(1000, Math.min(15_000, config.unreachableAfterMs)),
  });

  const upgrades = new UpgradeEngine({
    store,
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
    cluster,
    controlPlane,
    artifacts,
    autoheal,
    autohealSettings,
    upgrades,
    removeNode,
    certs: certWatch,
    clockStatus: () => ({ ...fleetSkew.status(), holding: clock.holding() ?? null }),
    versionSupport: day2.versionSupport,
    alerts: day2.alerts,
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
  // Before anything is noted, so the sinks see every event from here on.
  await day2.start(metrics.registry);

  const caps = connectionCapsFor(config, log);
  const limits = (listener: Listener): ListenerLimits => ({
    caps: caps[listener],
    handshakeTimeoutMs: config.handshakeTimeoutMs,
    observer: metrics.connections,
  });
  const gwLog = log.child({ component: 'gateway' });
  const gateway = await buildGateway({
    limits: limits('gateway'),
    logger: gwLog,
    store,
    tls: {
      certPem: pki.serving.certPem,
      keyPem: pki.serving.keyPem,
      caPem: pki.ca.certPem,
      ticketKeys: pki.ticketKeys,
    },
    joinLimiter: createRateLimiter({ perMinute: config.joinRateLimitPerMinute }),
    nodeExists: (id) => registry.has(id),
    revokedAttempt: (id) =>
      nodeK3s.agentTold(id, 10_000).catch(logFailure(gwLog, 'scheduling the purge of a removed node')),
    extraRoutes: (app) => {
      void app.register(artifactRoutes, {
        artifacts,
        verifyClient: (req) => verifyClientCert(store, registry, req),
        downloaded: (nodeId, what) =>
          events
            .note({
              type: 'artifact.downloaded',
              nodeId,
              actor: `node:${nodeId}`,
              message: `${what} downloaded by node ${nodeId}`,
              data: { artifact: what },
            })
            .catch(logFailure(gwLog, 'noting a download')),
      });
      void app.register(installerRoutes, {
        dataDir: config.dataDir,
        publicUrl: config.publicUrl,
        caPem: pki.ca.certPem,
        hubVersion,
        events,
        store,
        verifyClient: (req) => verifyClientCert(store, registry, req),
        removeNode,
        agentBundle: (v) => artifacts.agents.get(v),
      });
      void app.register(recoverRoute, {
        limiter: createRateLimiter({ perMinute: config.joinRateLimitPerMinute }),
        recover: (certPem, csr, source) => recoverCert(renewal, events, gwLog, certPem, csr, source),
      });
    },
    join: joinHandler({
      store,
      tokens,
      ca: pki.ca,
      events,
      registry,
      metrics,
      logger: gwLog,
      clock,
      nodeCertTtlMs: config.nodeCertTtlMs,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
    }),
    connect: agentConnector({
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      hubVersion,
      logger: gwLog,
      clock,
      registry,
      commands,
      renewal,
      metrics,
      nodeK3s: () => nodeK3s,
      identityGuard: new IdentityGuard({
        registry,
        events,
        logger: gwLog,
        onConflict: () => metrics.identityConflict(),
      }),
    }),
  });

  const api = await buildApi(services, {
    tls: pki.serving,
    adminTokenHash: sha256Hex(admin.token),
    metrics: metrics.registry,
    limits: limits('api'),
  });
  const [apiListener, gatewayListener] = hubListeners(config);
  try {
    await gateway.listen({ host: config.gatewayListen.host, port: config.gatewayListen.port }).catch((err: unknown) => {
      throw listenRefusal(gatewayListener, err) ?? err;
    });
    await api.listen({ host: config.apiListen.host, port: config.apiListen.port }).catch((err: unknown) => {
      throw listenRefusal(apiListener, err) ?? err;
    });
  } catch (err) {
    await gateway.close();
    await api.close();
    await day2.stop();
    await store.close();
    throw err;
  }
  const apiPort = (api.server.address() as { port: number }).port;
  const gwPort = (gateway.server.address() as { port: number }).port;
  const apiHost =
    config.apiListen.host === '0.0.0.0' || config.apiListen.host === '::' ? '127.0.0.1' : config.apiListen.host;
  const apiUrl = `https://${apiHost.includes(':') ? `[${apiHost}]` : apiHost}:${apiPort}`;
  const gatewayUrl = config.publicUrl;

  await controlPlane.start();
  retention.start(events);
  autoheal.start();
  certWatch.start();
  await upgrades.start();
  const sweeper = setInterval(
    () => {
      registry.sweep().catch(logFailure(log, 'the liveness sweep'));
      commands.expire().catch(logFailure(log, 'expiring commands'));
    },
    Math.max(200, Math.min(5000, Math.floor(config.unreachableAfterMs / 5))),
  );
  sweeper.unref();
  const purger = setInterval(() => nodeK3s.purgePending().catch(logFailure(cpLog, 'purging removed nodes')), 60_000);
  purger.unref();
  // Admin commands find the running hub through this file.
  const runtimeFile = join(config.dataDir, 'hub.json');
  writeFileSync(
    runtimeFile,
    JSON.stringify(
      { pid: process.pid, apiUrl, gatewayUrl, gatewayPort: gwPort, startedAt: new Date().toISOString() },
      null,
      2,
    ) + '\n',
    { mode: 0o644 },
  );
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
        clearInterval(sweeper);
        clearInterval(clockTimer);
        clearInterval(purger);
        certWatch.stop();
        await autoheal.stop();
        await upgrades.stop();
        registry.closeAll('HUB_SHUTDOWN', 'the hub is stopping; reconnect later');
        await api.close();
        await gateway.close();
        await batcher.stop();
        await retention.stop();
        await controlPlane.stop();
        await day2.stop();
        rmSync(runtimeFile, { force: true });
        await store.close();
        lock.release();
      })();
      return stopping;
    },
  };
}
