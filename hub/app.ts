// The hub, assembled: config in, a started hub out. main.ts only parses flags and calls this.
import { join } from 'node:path';
import { writeFileSync, rmSync, mkdirSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { HubConfig } from './config.js';
import type { Logger } from './logger.js';
import type { Store } from './store/types.js';
import { openSqliteStore } from './store/index.js';
import { prepareDataDir, loadOrCreateAdminToken } from './data-dir.js';
import { loadOrCreatePki } from './pki/hub-pki.js';
import { createEventLog } from './events.js';
import { createHealthBatcher } from './nodes/health-batcher.js';
import { createHealthSampler } from './nodes/health-sampler.js';
import { NodeRegistry } from './nodes/registry.js';
import { enroll } from './nodes/enrollment.js';
import { CommandService } from './nodes/commands.js';
import { createTokenService } from './tokens/token-service.js';
import { sha256Hex } from './tokens/secrets.js';
import { buildGateway, verifyClientCert } from './gateway/server.js';
import { createRateLimiter } from './gateway/rate-limit.js';
import { agentConnector } from './gateway/agent-connect.js';
import { CertRenewal } from './nodes/cert-renewal.js';
import { CertWatch } from './nodes/cert-watch.js';
import { IdentityGuard } from './nodes/identity-guard.js';
import { recoverRoute } from './gateway/recover-route.js';
import { recoverCert } from './nodes/cert-recovery.js';
import { buildApi } from './api/server.js';
import type { ClusterInfo, HubServices } from './api/services.js';
import { readHubVersion } from './version.js';
import { ControlPlane } from './k3s/control-plane.js';
import { NodeK3s } from './k3s/node-k3s.js';
import { ArtifactStore } from './artifacts/artifact-store.js';
import { packagePaths } from './installer/package-files.js';
import { artifactRoutes } from './gateway/artifact-routes.js';
import { installerRoutes } from './installer/routes.js';
import { AutohealEngine } from './autoheal/engine.js';
import { AutohealSettings } from './autoheal/settings.js';
import { renderCloudInit } from './installer/cloud-init-doc.js';
import { createMetrics } from './metrics.js';
import { UpgradeEngine } from './upgrades/engine.js';

export interface Hub {
  apiUrl: string;
  gatewayUrl: string;
  adminTokenPath: string;
  services: HubServices;
  api: FastifyInstance;
  gateway: FastifyInstance;
  stop(): Promise<void>;
}

export interface HubDeps {
  logger: Logger;
}

/** The line an operator pastes on a new server. */
export function installLine(publicUrl: string, token: string): string {
  return `curl -sfL --insecure ${publicUrl}/install.sh | sudo sh -s - --token ${token}`;
}

export async function startHub(config: HubConfig, deps: HubDeps): Promise<Hub> {
  const log = deps.logger;
  prepareDataDir(config.dataDir);
  const pki = await loadOrCreatePki(config.dataDir, config.publicUrl);
  if (pki.created) log.info({ component: 'pki', caPin: pki.caPin }, 'created the hub CA');
  const admin = loadOrCreateAdminToken(config.dataDir);
  const store: Store = await openSqliteStore({ path: join(config.dataDir, 'hub.db'), logger: log.child({ component: 'store' }) });
  const hubVersion = readHubVersion();
  const events = createEventLog(store, log.child({ component: 'events' }));
  const batcher = createHealthBatcher(store, log.child({ component: 'health' }), { sampler: createHealthSampler() });
  const registry = new NodeRegistry({ store, events, batcher, logger: log.child({ component: 'registry' }), unreachableAfterMs: config.unreachableAfterMs });
  await registry.load();
  const commands = new CommandService({ store, events, logger: log.child({ component: 'commands' }), link: (id) => registry.link(id) });
  const tokens = createTokenService({ store, caPin: pki.caPin });
  mkdirSync(join(config.dataDir, 'artifacts'), { recursive: true, mode: 0o755 });
  const artifacts = new ArtifactStore(join(config.dataDir, 'artifacts'), packagePaths().agentArtifactsDir);

  const cpLog = log.child({ component: 'k3s' });
  let nodeK3s: NodeK3s | undefined = undefined;
  const controlPlane = new ControlPlane({
    mode: config.k3s,
    dataDir: config.dataDir,
    publicHost: new URL(config.publicUrl).hostname.replace(/^\[|\]$/g, ''),
    httpsPort: config.k3sHttpsPort,
    extraArgs: config.k3sArgs,
    nodeTokenTtl: config.k3sNodeTokenTtl,
    restartBackoffMs: config.k3sRestartBackoffMs,
    artifacts,
    logger: cpLog,
    onState: (info, previous) => {
      void events.note({ type: 'k3s.state', actor: 'hub', message: `control plane ${previous} -> ${info.state}: ${info.message}`, data: { from: previous, to: info.state, restarts: info.restarts, lastLogLines: info.state === 'failed' ? info.lastLogLines : [] } });
      if (info.state === 'running') {
        void nodeK3s?.assignAll();
        void nodeK3s?.purgePending();
      }
    },
    onKubeNode: (type, n) => void registry.kubeUpdate(n.name, type === 'DELETED' ? undefined : n),
  });

  const cluster = (): ClusterInfo => {
    const i = controlPlane.info();
    return { state: i.state === 'stopped' ? 'absent' : i.state, version: controlPlane.version(), message: i.message, restarts: i.restarts, since: i.since, lastLogLines: i.lastLogLines, serverUrl: controlPlane.running() ? controlPlane.serverUrl() : null };
  };

  const services: HubServices = {
    config, store, events, registry, commands, tokens, logger: log, caPem: pki.ca.certPem, hubVersion, cluster, controlPlane, artifacts,
    async removeNode(id, actor) {
      const node = await store.getNode(id);
      if (!node) return false;
      // Drain while the agent still serves; revoke; let the agent stop its kubelet; then delete the
      // Kubernetes node and its password secret (a running kubelet would re-register them).
      await nodeK3s?.drainForRemoval(node, actor);
      const removed = await store.deleteNode(id, new Date().toISOString());
      if (!removed) return false;
      const acknowledged = await registry.retire(id, 'this node was removed by an operator', 15_000);
      // An offline agent learns of its removal only when it reconnects (revokedAttempt); until then
      // its kubelet may re-register the node, so the purge is done again after it was told.
      await nodeK3s?.purge(node, acknowledged);
      await events.record({ type: 'node.removed', nodeId: id, pool: node.pool, actor, message: `node ${node.name} removed; its certificates are revoked` });
      return true;
    },
    async joinCommand(pool, actor, ttlMs) {
      const { record, token } = await tokens.create({ pool, ttlMs, maxUses: 1, description: 'join-command', actor });
      await events.record({ type: 'token.created', pool, actor, message: `single-use join token ${record.id} for pool ${pool}`, data: { tokenId: record.id, expiresAt: record.expiresAt } });
      return { token, tokenId: record.id, command: installLine(config.publicUrl, token), expiresAt: record.expiresAt };
    },
  };

  let autohealRef: AutohealEngine | undefined = undefined;
  const metrics = createMetrics({ events, nodes: registry, controlPlane, autoheal: () => autohealRef, store, rollouts: async () => (await services.upgrades?.list()) ?? [], certWarnBeforeMs: config.certWarnBeforeMs });

  const gwLog = log.child({ component: 'gateway' });
  const certLog = log.child({ component: 'certs' });
  const renewal = new CertRenewal({ store, ca: pki.ca, events, logger: certLog, ttlMs: config.nodeCertTtlMs, expiredGraceMs: config.certRecoveryGraceMs });
  const certWatch = new CertWatch({ store, registry, events, logger: certLog, warnBeforeMs: config.certWarnBeforeMs, intervalMs: Math.min(30_000, Math.max(250, config.nodeCertTtlMs / 20)) });
  services.certs = certWatch;
  const gateway = await buildGateway({
    logger: gwLog,
    store,
    tls: { certPem: pki.serving.certPem, keyPem: pki.serving.keyPem, caPem: pki.ca.certPem, ticketKeys: pki.ticketKeys },
    joinLimiter: createRateLimiter({ perMinute: config.joinRateLimitPerMinute }),
    nodeExists: (id) => registry.has(id),
    revokedAttempt: (id) => void nodeK3s?.agentTold(id, 10_000),
    extraRoutes: (app) => {
      void app.register(artifactRoutes, {
        artifacts,
        verifyClient: (req) => verifyClientCert(store, registry, req),
        downloaded: (nodeId, what) => void events.note({ type: 'artifact.downloaded', nodeId, actor: `node:${nodeId}`, message: `${what} downloaded by node ${nodeId}`, data: { artifact: what } }),
      });
      void app.register(installerRoutes, { dataDir: config.dataDir, publicUrl: config.publicUrl, caPem: pki.ca.certPem, hubVersion, events, store,
        verifyClient: (req) => verifyClientCert(store, registry, req), removeNode: (id, actor) => services.removeNode(id, actor),
        agentBundle: (v) => artifacts.agents.get(v) });
      void app.register(recoverRoute, { limiter: createRateLimiter({ perMinute: config.joinRateLimitPerMinute }), recover: (certPem, csr, source) => recoverCert(renewal, events, gwLog, certPem, csr, source) });
    },
    join: async (req, source) => {
      try {
        const joined = await enroll({ store, tokens, ca: pki.ca, events, registry, nodeCertTtlMs: config.nodeCertTtlMs, heartbeatIntervalMs: config.heartbeatIntervalMs }, req, source);
        metrics.joinAttempt('ok');
        // store.enroll wrote node.joined in its transaction; hand it to live listeners (SSE) too.
        const [joinedEvent] = await store.listEvents({ type: 'node.joined', nodeId: joined.nodeId, limit: 1 }).catch(() => []);
        if (joinedEvent) events.publish(joinedEvent);
        return joined;
      } catch (err) {
        const code = (err as { code?: string }).code ?? 'INTERNAL';
        metrics.joinAttempt(code);
        gwLog.warn({ source, code, reason: (err as Error).message }, 'join refused');
        await events.note({ type: 'join.rejected', actor: `ip:${source}`, message: `join from ${source} refused: ${(err as Error).message}`, data: { code, source } });
        throw err;
      }
    },
    connect: agentConnector({
      heartbeatIntervalMs: config.heartbeatIntervalMs, hubVersion, logger: gwLog, registry, commands, renewal, metrics, nodeK3s: () => nodeK3s,
      identityGuard: new IdentityGuard({ registry, events, logger: gwLog, onConflict: () => metrics.identityConflict() }),
    }),
  });

  const autohealSettings = new AutohealSettings(store);
  const autoheal = new AutohealEngine({
    store, events, registry, controlPlane, logger: log.child({ component: 'autoheal' }), settings: autohealSettings,
    removeNode: (id, actor) => services.removeNode(id, actor),
    cloudInit: async (pool) => {
      const { record, token } = await tokens.create({ pool, ttlMs: 3_600_000, maxUses: 1, description: 'autoheal replacement', actor: 'autoheal' });
      await events.note({ type: 'token.created', pool, actor: 'autoheal', message: `single-use join token ${record.id} for a replacement in pool ${pool}`, data: { tokenId: record.id } });
      return renderCloudInit({ hubUrl: config.publicUrl, caPem: pki.ca.certPem, token, tokenId: record.id, pool, expiresAt: record.expiresAt, labels: {} });
    },
    intervalMs: config.autohealIntervalMs,
    guardWindowMs: config.autohealGuardWindowMs,
    startupGraceMs: config.unreachableAfterMs + 5_000,
    flapWindowMs: config.autohealFlapWindowMs,
  });
  services.autoheal = autoheal;
  autohealRef = autoheal;
  services.autohealSettings = autohealSettings;
  nodeK3s = new NodeK3s({ controlPlane, store, registry, artifacts, events, logger: cpLog, removeDrainTimeoutMs: config.removeDrainTimeoutMs });
  const upgrades = new UpgradeEngine({ store, events, registry, controlPlane, nodeK3s, artifacts, autohealSettings, logger: log.child({ component: 'upgrades' }), autoTickMs: config.autoUpgradeIntervalMs });
  services.upgrades = upgrades;
  const api = await buildApi(services, { tls: pki.serving, adminTokenHash: sha256Hex(admin.token), metrics: metrics.registry });
  await gateway.listen({ host: config.gatewayListen.host, port: config.gatewayListen.port });
  try {
    await api.listen({ host: config.apiListen.host, port: config.apiListen.port });
  } catch (err) {
    await gateway.close();
    await store.close();
    throw err;
  }
  const apiPort = (api.server.address() as { port: number }).port;
  const gwPort = (gateway.server.address() as { port: number }).port;
  const apiHost = config.apiListen.host === '0.0.0.0' || config.apiListen.host === '::' ? '127.0.0.1' : config.apiListen.host;
  const apiUrl = `https://${apiHost.includes(':') ? `[${apiHost}]` : apiHost}:${apiPort}`;
  const gatewayUrl = config.publicUrl;

  await controlPlane.start();
  autoheal.start();
  certWatch.start();
  await upgrades.start();
  const sweeper = setInterval(() => {
    void registry.sweep();
    void commands.expire();
  }, Math.max(200, Math.min(5000, Math.floor(config.unreachableAfterMs / 5))));
  sweeper.unref();
  const purger = setInterval(() => void nodeK3s?.purgePending().catch(() => undefined), 60_000);
  purger.unref();
  // Admin commands find the running hub through this file.
  const runtimeFile = join(config.dataDir, 'hub.json');
  writeFileSync(runtimeFile, JSON.stringify({ pid: process.pid, apiUrl, gatewayUrl, gatewayPort: gwPort, startedAt: new Date().toISOString() }, null, 2) + '\n', { mode: 0o644 });
  await events.note({ type: 'hub.started', actor: 'hub', message: `hub ${hubVersion} started; API ${apiUrl}, gateway ${gatewayUrl}` });

  let stopping: Promise<void> | undefined;
  return {
    apiUrl, gatewayUrl, adminTokenPath: admin.path, services, api, gateway,
    stop() {
      stopping ??= (async () => {
        clearInterval(sweeper);
        clearInterval(purger);
        certWatch.stop();
        await autoheal.stop();
        await upgrades.stop();
        registry.closeAll('HUB_SHUTDOWN', 'the hub is stopping; reconnect later');
        await api.close();
        await gateway.close();
        await batcher.stop();
        await controlPlane.stop();
        rmSync(runtimeFile, { force: true });
        await store.close();
      })();
      return stopping;
    },
  };
}
