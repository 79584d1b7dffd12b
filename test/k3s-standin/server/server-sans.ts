// Subject alternative names of the serving certificate, as k3s builds them.
import { hostname } from 'node:os';
import type { ServerConfig } from './server-config.js';
import { isIP, primaryIPv4 } from '../util/net-addresses.js';

export function servingSans(cfg: ServerConfig): { dnsNames: string[]; ips: string[] } {
  const names = [
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    `kubernetes.default.svc.${cfg.clusterDomain}`,
    'localhost',
    hostname().toLowerCase(),
    cfg.nodeName,
    ...cfg.tlsSans,
    cfg.advertiseAddress,
    cfg.bindAddress,
    ...cfg.nodeIps,
    ...cfg.nodeExternalIps,
    '127.0.0.1',
    '::1',
    '10.43.0.1',
    primaryIPv4(),
  ].filter((s) => s !== '' && s !== '0.0.0.0' && s !== '::');
  const uniq = [...new Set(names)];
  return { dnsNames: uniq.filter((s) => !isIP(s)), ips: uniq.filter(isIP) };
}
