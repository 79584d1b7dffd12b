// `k3s server`: datastore (JSON file, embedded etcd as one, or kine on PostgreSQL), certificates, tokens, kubeconfig,
// controllers and the HTTPS listener; runs until the signal aborts (then saves state and resolves
// with 0) or the datastore stops answering in time (resolves with 1, as k3s exits).
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../util/log.js';
import type { BuildInfo } from '../version.js';
import type { ServerConfig } from './server-config.js';
import { kubeconfigYaml, writeKubeconfig } from './kubeconfig-file.js';
import { findType } from '../store/resource-types.js';
import type { ObjectStore } from '../store/object-store.js';
import { ResourceService } from '../api/resource-service.js';
import { ApiError } from '../api/api-error.js';
import { kubeApiHandler } from '../api/kube-router.js';
import { supervisorHandler } from './supervisor-routes.js';
import { createListener } from './listener.js';
import { notifyReady } from '../util/systemd-notify.js';
import { primaryIPv4 } from '../util/net-addresses.js';
import { prepareCluster, type PreparedCluster } from './cluster-setup.js';
import { startControlLoops } from './control-loops.js';
import { clusterReset } from './cluster-reset.js';
import { snapshotHandler } from './snapshot-route.js';
import { resetFlagPath, usesEtcd } from '../store/etcd-files.js';

const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

function envMs(env: NodeJS.ProcessEnv, name: string, def: number): number {
  const v = Number(env[name]);
  return Number.isFinite(v) && v > 0 ? v : def;
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export async function runServer(
  cfg: ServerConfig,
  build: BuildInfo,
  log: Logger,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
): Promise<number> {
  log.info(`Starting k3s ${build.version} (${build.commit})`);
  if (cfg.clusterReset) return clusterReset(cfg, log);
  if (usesEtcd(cfg)) {
    log.info('Managed etcd cluster initializing (stand-in: the member state is a JSON file)');
    // A normal start after a reset clears the flag that guards against resetting twice.
    rmSync(resetFlagPath(cfg.dataDir), { force: true });
  }
  mkdirSync(join(cfg.dataDir, 'server', 'cred'), { recursive: true, mode: 0o700 });
  const fatal: { error?: Error; wake?: () => void } = {};
  const onFatal = (e: Error): void => {
    fatal.error ??= e;
    fatal.wake?.();
  };
  let prepared: PreparedCluster | undefined;
  try {
    prepared = await prepareCluster(cfg, log, env, signal, onFatal);
  } catch (e) {
    log.fatal(`starting kubernetes: preparing server: failed to bootstrap cluster data: ${(e as Error).message}`);
    return 1;
  }
  if (!prepared) return 0;
  const { pki, passwords } = prepared;
  const store: ObjectStore = prepared.opened.store;
  const svc = new ResourceService(store);
  const namespaces = findType('', 'v1', 'namespaces');
  for (const ns of SYSTEM_NAMESPACES) {
    if (!namespaces || svc.find(namespaces, undefined, ns)) continue;
    try {
      svc.create(namespaces, undefined, { metadata: { name: ns } });
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 409)) throw e; // another server made it first
    }
  }
  if (!cfg.datastoreEndpoint) log.info('Database tables and indexes are up to date');

  const localHost =
    cfg.bindAddress && cfg.bindAddress !== '0.0.0.0' && cfg.bindAddress !== '::' ? cfg.bindAddress : '127.0.0.1';
  const url = `https://${hostPort(localHost, cfg.httpsPort)}`;
  const advertise = cfg.advertiseAddress || cfg.nodeExternalIps[0] || cfg.nodeIps[0] || primaryIPv4();
  const adminKubeconfig = kubeconfigYaml(url, pki.serverCaPem, pki.admin);
  writeKubeconfig(join(cfg.dataDir, 'server', 'cred', 'admin.kubeconfig'), adminKubeconfig, 0o600);

  const listener = createListener(pki, store, {
    supervisor: supervisorHandler({
      cfg,
      pki,
      svc,
      passwords,
      log,
      apiServerAddress: hostPort(advertise, cfg.httpsPort),
    }),
    kubeApi: kubeApiHandler({ store, svc, build, serverAddress: hostPort(advertise, cfg.httpsPort) }),
    snapshot: snapshotHandler({ cfg, svc, passwords, log, snapshot: prepared.opened.etcdSnapshot }),
  });
  const bindHost = cfg.bindAddress || '0.0.0.0';
  try {
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(cfg.httpsPort, bindHost, () => {
        listener.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'EADDRINUSE'
        ? 'bind: address already in use'
        : code === 'EACCES'
          ? 'bind: permission denied'
          : (e as Error).message;
    log.fatal(
      `starting kubernetes: preparing server: init cluster datastore and https: listen tcp ${hostPort(bindHost, cfg.httpsPort)}: ${why}`,
    );
    return 1;
  }
  log.info(
    `Running kube-apiserver --advertise-address=${advertise} --anonymous-auth=false --secure-port=${cfg.httpsPort} --tls-san=${cfg.tlsSans.join(',')}`,
  );

  const stopLoops = startControlLoops(cfg, store, svc, log, {
    heartbeatMs: envMs(env, 'ATOLL_STANDIN_HEARTBEAT_MS', 5000),
    graceMs: envMs(env, 'ATOLL_STANDIN_NODE_GRACE_MS', 40_000),
    version: build.version,
    advertiseIp: advertise,
    elect: cfg.datastoreEndpoint !== '',
  });

  writeKubeconfig(cfg.writeKubeconfig, adminKubeconfig, cfg.writeKubeconfigMode);
  const tokenPath = join(cfg.dataDir, 'server', 'token');
  log.info(`Node token is available at ${tokenPath}`);
  log.info(
    `To join server node to cluster: k3s server -s https://${hostPort(advertise, cfg.httpsPort)} -t \${SERVER_NODE_TOKEN}`,
  );
  log.info(`Agent node token is available at ${join(cfg.dataDir, 'server', 'agent-token')}`);
  log.info(
    `To join agent node to cluster: k3s agent -s https://${hostPort(advertise, cfg.httpsPort)} -t \${AGENT_NODE_TOKEN}`,
  );
  log.info(`Wrote kubeconfig ${cfg.writeKubeconfig}`);
  log.info(`Run: k3s kubectl`);
  log.info('k3s is up and running');
  notifyReady(env);

  await new Promise<void>((resolve) => {
    fatal.wake = resolve;
    if (signal.aborted || fatal.error) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
  listener.close();
  listener.closeAllConnections();
  if (fatal.error) {
    log.fatal(`kine: ${fatal.error.message}`);
    return 1;
  }
  log.info('Shutting down k3s server');
  stopLoops();
  store.close();
  return 0;
}
