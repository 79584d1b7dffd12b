// config.Get: fetch the server's config, CAs and this node's kubelet certificates (after the node
// password check), writing them under <data-dir>/agent like k3s does.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../util/log.js';
import type { AgentConfig } from './agent-config.js';
import { bodyOrError, infoGet, parseAndValidateToken, type ClusterInfo } from './cluster-access.js';
import { ensureNodeIdentity, type NodeIdentity } from './node-identity.js';
import { primaryIPv4 } from '../util/net-addresses.js';
import type { LoadBalancer } from './load-balancer.js';

export interface JoinedNode {
  readonly info: ClusterInfo;
  readonly identity: NodeIdentity;
  readonly serverCa: Buffer;
  readonly clientCert: { cert: Buffer; key: Buffer };
  readonly control: Record<string, unknown>;
  readonly internalIps: readonly string[];
}

function splitCertKey(pem: Buffer): { cert: Buffer; key: Buffer } {
  const blocks = (
    pem
      .toString('utf8')
      .replace(/\r\n/g, '\n')
      .match(/-----BEGIN [A-Z ]+-----[\s\S]+?-----END [A-Z ]+-----/g) ?? []
  ).map((b) => `${b}\n`);
  const key = blocks.filter((b) => b.includes('PRIVATE KEY')).join('');
  const cert = blocks.filter((b) => !b.includes('PRIVATE KEY')).join('');
  return { cert: Buffer.from(cert), key: Buffer.from(key) };
}

async function nodeNamedCert(
  info: ClusterInfo,
  path: string,
  id: NodeIdentity,
  ips: readonly string[],
  log: Logger,
): Promise<Buffer> {
  const url = `${info.baseUrl}${path}`;
  const headers = { 'k3s-Node-Name': id.name, 'k3s-Node-Password': id.password, 'k3s-Node-IP': ips.join(',') };
  let res = await infoGet(info, path, { headers });
  if (res.status === 401 && info.certFile) {
    log.info('Node authorization rejected, retrying without client certificate authentication');
    res = await infoGet(info, path, { headers, withCert: false });
  }
  if (res.status === 403) {
    throw new Error(
      `Node password rejected, duplicate hostname or contents of '${id.passwordFile}' may not match server node-passwd entry, try enabling a unique node name with the --with-node-id flag`,
    );
  }
  if (res.status !== 200) throw new Error(`${url}: ${res.statusLine}`);
  return res.body;
}

export async function retrieveAgentConfig(cfg: AgentConfig, log: Logger, lb: LoadBalancer): Promise<JoinedNode> {
  const agentDir = join(cfg.dataDir, 'agent');
  mkdirSync(agentDir, { recursive: true, mode: 0o700 });
  const clientCrt = join(agentDir, 'client-kubelet.crt');
  const clientKey = join(agentDir, 'client-kubelet.key');
  const existing =
    existsSync(clientCrt) && existsSync(clientKey)
      ? { cert: readFileSync(clientCrt), key: readFileSync(clientKey) }
      : undefined;
  const info: ClusterInfo = {
    ...(await lb.run((base) => parseAndValidateToken(base, cfg.token, log, existing))),
    servers: lb,
  };

  let control: Record<string, unknown>;
  try {
    const path = '/v1-k3s/config';
    control = JSON.parse(bodyOrError(`${info.baseUrl}${path}`, await infoGet(info, path)).toString('utf8')) as Record<
      string,
      unknown
    >;
  } catch (e) {
    throw new Error(`failed to retrieve configuration from server: ${(e as Error).message}`);
  }
  for (const f of ['client-ca.crt', 'server-ca.crt']) {
    const path = `/v1-k3s/${f}`;
    writeFileSync(join(agentDir, f), bodyOrError(`${info.baseUrl}${path}`, await infoGet(info, path)), { mode: 0o600 });
  }
  const identity = ensureNodeIdentity(cfg.dataDir, cfg.nodeName, cfg.withNodeId);
  const internalIps = cfg.nodeIps.length > 0 ? cfg.nodeIps : [primaryIPv4()];

  const servingFile = join(agentDir, 'serving-kubelet.crt');
  try {
    const serving = splitCertKey(
      await nodeNamedCert(info, '/v1-k3s/serving-kubelet.crt', identity, [...internalIps, ...cfg.nodeExternalIps], log),
    );
    writeFileSync(servingFile, serving.cert, { mode: 0o600 });
    writeFileSync(join(agentDir, 'serving-kubelet.key'), serving.key, { mode: 0o600 });
  } catch (e) {
    throw new Error(`${servingFile}: ${(e as Error).message}`);
  }
  let clientCert: { cert: Buffer; key: Buffer };
  try {
    clientCert = splitCertKey(await nodeNamedCert(info, '/v1-k3s/client-kubelet.crt', identity, internalIps, log));
    writeFileSync(clientCrt, clientCert.cert, { mode: 0o600 });
    writeFileSync(clientKey, clientCert.key, { mode: 0o600 });
  } catch (e) {
    throw new Error(`${clientCrt}: ${(e as Error).message}`);
  }
  for (const f of ['client-kube-proxy', 'client-k3s-controller']) {
    const path = `/v1-k3s/${f}.crt`;
    try {
      const ck = splitCertKey(bodyOrError(`${info.baseUrl}${path}`, await infoGet(info, path)));
      writeFileSync(join(agentDir, `${f}.crt`), ck.cert, { mode: 0o600 });
      writeFileSync(join(agentDir, `${f}.key`), ck.key, { mode: 0o600 });
    } catch (e) {
      throw new Error(`${join(agentDir, `${f}.crt`)}: ${(e as Error).message}`);
    }
  }
  const serverCa = readFileSync(join(agentDir, 'server-ca.crt'));
  return { info, identity, serverCa, clientCert, control, internalIps };
}
