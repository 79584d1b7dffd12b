// The k3s stand-in for a test: built into the test's own folder, and a Kubernetes client for a hub's
// control plane (the kubeconfig the hub serves).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { ROOT, type HubHandle } from './processes.js';

/** Builds the stand-in at `out`, claiming `version` (the default build's otherwise); `broken` never starts. */
export function buildStandin(out: string, version?: string, broken = false): void {
  const b = spawnSync(
    process.execPath,
    [
      join(ROOT, 'scripts/build-standin.mjs'),
      ...(version ? ['--version', version] : []),
      '--out',
      out,
      ...(broken ? ['--broken'] : []),
    ],
    { encoding: 'utf8' },
  );
  if (b.status !== 0) throw new Error(`build-standin ${version ?? ''}: ${b.stderr}`);
}

/** A CoreV1 client for the hub's k3s, through the kubeconfig from GET /v1/cluster/kubeconfig. */
export async function kubeCore(h: Pick<HubHandle, 'api'>): Promise<k8s.CoreV1Api> {
  const kc = new k8s.KubeConfig();
  kc.loadFromString((await h.api<string>('GET', '/v1/cluster/kubeconfig')).body);
  return kc.makeApiClient(k8s.CoreV1Api);
}
