// `k3s agent`: validate the token against the cluster CA (retry every 2 s), retrieve the agent
// configuration and kubelet certificates (retry every 5-10 s), then run the kubelet part and its
// healthz endpoint until the signal aborts. Never exits on a bad token, like k3s: it keeps retrying
// and logging. Every request goes through the client-side load balancer over the apiservers.
import { join } from 'node:path';
import type { Server } from 'node:http';
import type { Logger } from '../util/log.js';
import type { BuildInfo } from '../version.js';
import type { AgentConfig } from './agent-config.js';
import { parseAndValidateToken } from './cluster-access.js';
import { retrieveAgentConfig, type JoinedNode } from './agent-join.js';
import { startHealthz } from './healthz-server.js';
import { runKubelet } from './kubelet.js';
import { parseLabels } from './node-object.js';
import { KubeClient } from '../util/kube-client.js';
import { sleep } from '../util/abortable-sleep.js';
import { notifyReady } from '../util/systemd-notify.js';
import { kubeconfigYaml, writeKubeconfig } from '../server/kubeconfig-file.js';
import { LoadBalancer } from './load-balancer.js';
import { refreshLoadBalancer } from './lb-refresh.js';

function envMs(env: NodeJS.ProcessEnv, name: string, def: number): number {
  const v = Number(env[name]);
  return Number.isFinite(v) && v > 0 ? v : def;
}

async function join_(
  cfg: AgentConfig,
  lb: LoadBalancer,
  log: Logger,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
): Promise<JoinedNode | undefined> {
  const retry = env.ATOLL_STANDIN_RETRY_MS ? envMs(env, 'ATOLL_STANDIN_RETRY_MS', 2000) : undefined;
  while (!signal.aborted) {
    try {
      await lb.run((base) => parseAndValidateToken(base, cfg.token, log));
      break;
    } catch (e) {
      log.error(`Failed to validate connection to cluster at ${cfg.serverUrl}: ${(e as Error).message}`);
      await sleep(retry ?? 2000, signal);
    }
  }
  while (!signal.aborted) {
    try {
      return await retrieveAgentConfig(cfg, log, lb);
    } catch (e) {
      log.info(`Waiting to retrieve agent configuration; server is not ready: ${(e as Error).message}`);
      const base = retry ?? 5000;
      await sleep(base + Math.random() * base, signal);
    }
  }
  return undefined;
}

export async function runAgent(
  cfg: AgentConfig,
  build: BuildInfo,
  log: Logger,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
): Promise<number> {
  log.info(`Starting k3s agent ${build.version} (${build.commit})`);
  const lb = new LoadBalancer(cfg.serverUrl, cfg.dataDir, log, !cfg.disableApiserverLb);
  const joined = await join_(cfg, lb, log, env, signal);
  if (!joined) return 0;
  const name = joined.identity.name;
  const serverUrl = joined.info.baseUrl;
  writeKubeconfig(
    join(cfg.dataDir, 'agent', 'kubelet.kubeconfig'),
    kubeconfigYaml(serverUrl, joined.serverCa.toString('utf8'), {
      certPem: joined.clientCert.cert.toString('utf8'),
      keyPem: joined.clientCert.key.toString('utf8'),
    }),
    0o600,
  );
  const labels = parseLabels(cfg.nodeLabels);
  log.info(
    `Running kubelet --healthz-bind-address=${cfg.healthzBindAddress} --healthz-port=${cfg.healthzPort} --hostname-override=${name} --kubeconfig=${join(cfg.dataDir, 'agent', 'kubelet.kubeconfig')} --node-ip=${joined.internalIps.join(',')} --node-labels=${cfg.nodeLabels.join(',')} --register-with-taints=${cfg.nodeTaints.map((t) => `${t.key}${t.value !== undefined ? `=${t.value}` : ''}:${t.effect}`).join(',')}`,
  );

  let healthz: Server | undefined;
  try {
    healthz = await startHealthz(cfg.healthzBindAddress, cfg.healthzPort);
    const addr = healthz.address();
    if (addr && typeof addr === 'object')
      log.klog('I', 'server.go:163', 'Starting healthz server', { address: `${addr.address}:${addr.port}` });
  } catch (e) {
    log.klog('E', 'server.go:166', 'Failed to start healthz server', { err: (e as Error).message });
  }

  const flannelIp = cfg.nodeExternalIps[0] ?? joined.internalIps[0] ?? '';
  const client = new KubeClient({
    server: serverUrl,
    ca: joined.serverCa,
    cert: joined.clientCert.cert,
    key: joined.clientCert.key,
    servers: lb,
  });
  const refreshing = cfg.disableApiserverLb
    ? Promise.resolve()
    : refreshLoadBalancer(lb, joined.info, client, log, envMs(env, 'ATOLL_STANDIN_LB_REFRESH_MS', 5000), signal);
  await runKubelet({
    client,
    log,
    signal,
    heartbeatMs: envMs(env, 'ATOLL_STANDIN_HEARTBEAT_MS', 5000),
    onRegistered: () => {
      log.info(`Node ${name} registered with the cluster; kubelet is running`);
      notifyReady(env);
    },
    node: {
      name,
      kubeletVersion: build.version,
      internalIps: joined.internalIps,
      externalIps: cfg.nodeExternalIps,
      labels,
      taints: cfg.nodeTaints,
      ...(cfg.providerId ? { providerId: cfg.providerId } : {}),
      ...(cfg.capacity ? { capacity: cfg.capacity } : {}),
      annotations: {
        'alpha.kubernetes.io/provided-node-ip': joined.internalIps.join(','),
        'flannel.alpha.coreos.com/backend-type': String(joined.control.FlannelBackend ?? 'vxlan'),
        'flannel.alpha.coreos.com/public-ip': flannelIp,
        'k3s.io/hostname': name,
        'k3s.io/internal-ip': joined.internalIps.join(','),
        ...(cfg.nodeExternalIps.length ? { 'k3s.io/external-ip': cfg.nodeExternalIps.join(',') } : {}),
        'k3s.io/node-args': JSON.stringify(cfg.nodeArgs),
      },
    },
  });
  await refreshing;
  healthz?.close();
  healthz?.closeAllConnections();
  log.info('Shutting down k3s agent');
  return 0;
}
