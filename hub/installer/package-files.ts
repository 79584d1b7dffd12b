// Where the hub's own package keeps what the installer serves: deploy/ (install.sh and its
// templates) and dist/artifacts/ (the agent bundle and Node.js runtimes that npm ci makes).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AtollError } from '../../certs/atoll-error.js';

/** The atoll package root, found upwards from this file (dist/hub/installer or hub/installer). */
export function packageRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (let i = 0; i < 6; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'atoll') return dir;
      } catch {
        // not ours; keep looking
      }
    }
    dir = dirname(dir);
  }
  throw new AtollError('PACKAGE_ROOT_NOT_FOUND', `cannot find the atoll package root above ${from}`);
}

export interface PackagePaths {
  deployDir: string;
  agentArtifactsDir: string;
  nodeArtifactsDir: string;
}

export function packagePaths(root = packageRoot()): PackagePaths {
  return {
    deployDir: join(root, 'deploy'),
    agentArtifactsDir: join(root, 'dist', 'artifacts', 'agent'),
    nodeArtifactsDir: join(root, 'dist', 'artifacts', 'node'),
  };
}
