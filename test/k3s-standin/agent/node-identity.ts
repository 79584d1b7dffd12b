// The node's password and optional id (pkg/agent/config): /etc/rancher/node for the default data
// dir, else <data-dir>/agent/etc/rancher/node (k3s's rootless location), so several stand-in agents
// can share one host.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomHex } from '../util/random.js';
import { DEFAULT_DATA_DIR } from '../server/server-config.js';

export function nodeConfigPath(dataDir: string): string {
  return dataDir === DEFAULT_DATA_DIR ? '/etc/rancher/node' : join(dataDir, 'agent', 'etc', 'rancher', 'node');
}

function ensureFile(path: string, make: () => string, mode: number): string {
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  const v = make();
  writeFileSync(path, `${v}\n`, { mode });
  return v;
}

export interface NodeIdentity {
  readonly name: string;
  readonly password: string;
  readonly passwordFile: string;
}

export function ensureNodeIdentity(dataDir: string, baseName: string, withNodeId: boolean): NodeIdentity {
  const dir = nodeConfigPath(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const passwordFile = join(dir, 'password');
  const password = ensureFile(passwordFile, () => randomHex(16), 0o600);
  const name = withNodeId ? `${baseName}-${ensureFile(join(dir, 'id'), () => randomHex(4), 0o644)}` : baseName;
  return { name, password, passwordFile };
}
