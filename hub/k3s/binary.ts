// Which k3s binary the hub runs, per --k3s: auto (PATH, then <data-dir>/k3s/bin/k3s), off, or a path.
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';

export type K3sBinary =
  | { kind: 'found'; path: string; version: string; commit: string }
  | { kind: 'absent'; reason: string }
  | { kind: 'off' }
  | { kind: 'broken'; path: string; reason: string };

export function dataDirBinary(dataDir: string): string {
  return join(dataDir, 'k3s', 'bin', 'k3s');
}

export function findOnPath(name: string, pathEnv = process.env.PATH ?? ''): string | undefined {
  for (const dir of pathEnv.split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** `k3s version v1.31.4+k3s1 (abcdef12)` → { version, commit }. */
export function parseVersionOutput(text: string): { version: string; commit: string } | undefined {
  const m = /^k3s version (v\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?\+k3s\d+) \(([0-9a-f]+)\)/m.exec(text);
  return m ? { version: m[1], commit: m[2] } : undefined;
}

export async function probeBinary(path: string): Promise<K3sBinary> {
  if (!existsSync(path)) return { kind: 'broken', path, reason: `k3s binary ${path} does not exist` };
  try {
    accessSync(path, constants.X_OK);
  } catch {
    return { kind: 'broken', path, reason: `k3s binary ${path} is not executable (chmod +x ${path})` };
  }
  const r = await execa(path, ['--version'], { reject: false, timeout: 15_000 });
  const parsed = parseVersionOutput(String(r.stdout));
  if (r.exitCode !== 0 || !parsed) {
    return {
      kind: 'broken',
      path,
      reason: `${path} --version failed (exit ${r.exitCode ?? r.signal}): ${String(r.stderr || r.stdout).slice(0, 300)}`,
    };
  }
  return { kind: 'found', path, ...parsed };
}

export async function resolveK3s(mode: string, dataDir: string): Promise<K3sBinary> {
  if (mode === 'off') return { kind: 'off' };
  if (mode !== 'auto') return probeBinary(mode);
  const candidate = findOnPath('k3s') ?? (existsSync(dataDirBinary(dataDir)) ? dataDirBinary(dataDir) : undefined);
  if (!candidate) return { kind: 'absent', reason: `no k3s on PATH or at ${dataDirBinary(dataDir)}` };
  return probeBinary(candidate);
}
