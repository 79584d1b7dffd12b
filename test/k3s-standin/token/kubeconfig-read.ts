// Finds and reads the kubeconfig `k3s token` talks through (util.GetKubeConfigPath).
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { isYamlMap, parseYaml, type YamlValue } from '../util/yaml-lite.js';
import type { KubeEndpoint } from '../util/kube-client.js';

export interface LoadedKubeconfig extends KubeEndpoint {
  /** The exact CA bytes (hashed into printed tokens). */
  readonly caData: Buffer;
}

/** --kubeconfig / $KUBECONFIG, else /etc/rancher/k3s/k3s.yaml, else <data-dir>/server/cred/admin.kubeconfig, else ~/.kube/config. */
export function kubeconfigPath(flag: string, dataDir: string): string {
  if (flag) {
    const first = flag.split(':').find((p) => p !== '' && existsSync(p));
    return first ?? (flag.split(':')[0] as string);
  }
  const candidates = [
    '/etc/rancher/k3s/k3s.yaml',
    ...(dataDir ? [join(dataDir, 'server', 'cred', 'admin.kubeconfig')] : []),
    join(homedir(), '.kube', 'config'),
  ];
  return candidates.find((p) => existsSync(p)) ?? (candidates[0] as string);
}

function named(list: YamlValue | undefined, name: string, key: string): { [k: string]: YamlValue } | undefined {
  if (!Array.isArray(list)) return undefined;
  const entry = list.find((e) => isYamlMap(e) && e.name === name);
  const inner = isYamlMap(entry) ? entry[key] : undefined;
  return isYamlMap(inner) ? inner : undefined;
}

export function loadKubeconfig(path: string): LoadedKubeconfig {
  if (!existsSync(path)) throw new Error(`stat ${path}: no such file or directory`);
  const doc = parseYaml(readFileSync(path, 'utf8'));
  if (!isYamlMap(doc)) throw new Error(`invalid configuration: ${path} is not a kubeconfig`);
  const ctxName = String(doc['current-context'] ?? '');
  const ctx = named(doc.contexts, ctxName, 'context');
  if (!ctx) throw new Error(`invalid configuration: context was not found for specified context: ${ctxName}`);
  const cluster = named(doc.clusters, String(ctx.cluster ?? ''), 'cluster');
  const user = named(doc.users, String(ctx.user ?? ''), 'user');
  if (!cluster || !user) throw new Error('invalid configuration: no configuration has been provided');
  const base = dirname(path);
  const bytes = (dataKey: string, fileKey: string, from: { [k: string]: YamlValue }): Buffer => {
    const data = from[dataKey];
    if (typeof data === 'string' && data !== '') return Buffer.from(data, 'base64');
    const file = from[fileKey];
    if (typeof file === 'string' && file !== '') return readFileSync(isAbsolute(file) ? file : join(base, file));
    return Buffer.alloc(0);
  };
  const caData = bytes('certificate-authority-data', 'certificate-authority', cluster);
  return {
    server: String(cluster.server ?? ''),
    ca: caData,
    caData,
    cert: bytes('client-certificate-data', 'client-certificate', user),
    key: bytes('client-key-data', 'client-key', user),
  };
}
