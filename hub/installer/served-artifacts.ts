// What the installer downloads from the gateway, without a client certificate (the script checks
// each file's SHA-256 against these listings, which it fetches over TLS pinned to the hub CA):
//   the agent bundle   <package>/dist/artifacts/agent/{atoll-agent.mjs, manifest.json}
//   Node.js runtimes   <data-dir>/artifacts/node/<version>/<arch>/node.tgz   (an operator's, preferred)
//                      <package>/dist/artifacts/node/<version>/<arch>/node.tgz (from npm ci)
// A runtime is an npm-style tarball with package/bin/node, as the registry's node-linux-<arch> has.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sha256File } from '../artifacts/hash.js';
import { compareVersions } from '../versions/compare.js';

export const RUNTIME_ARCHES = ['amd64', 'arm64'] as const;
const NODE_VERSION_RE = /^\d+\.\d+\.\d+$/;
const AGENT_VERSION_RE = /^[0-9A-Za-z.+-]+$/;

export interface AgentBundle {
  version: string;
  sha256: string;
  size: number;
  path: string;
  urlPath: string;
}

export interface NodeRuntime {
  version: string;
  arch: string;
  sha256: string;
  size: number;
  path: string;
  urlPath: string;
  source: 'data-dir' | 'package';
}

/** The bundle scripts/build-agent-bundle.mjs made, or undefined when there is none. */
export function readAgentBundle(dir: string): AgentBundle | undefined {
  try {
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
      version?: string;
      file?: string;
      sha256?: string;
      size?: number;
    };
    if (!m.version || !AGENT_VERSION_RE.test(m.version) || !m.file || !/^[0-9a-f]{64}$/.test(m.sha256 ?? ''))
      return undefined;
    const path = join(dir, m.file);
    const size = statSync(path).size;
    if (size !== m.size) return undefined; // rebuilt under us: the manifest is about to change
    return {
      version: m.version,
      sha256: m.sha256!,
      size,
      path,
      urlPath: `/v1/artifacts/agent/${m.version}/atoll-agent.mjs`,
    };
  } catch {
    return undefined;
  }
}

/** Lists runtimes; hashes each file once per (size, mtime) and keeps the hash. */
export class NodeRuntimes {
  private readonly hashes = new Map<string, { key: string; sha256: string }>();

  constructor(private readonly dirs: Array<{ dir: string; source: NodeRuntime['source'] }>) {}

  async list(): Promise<NodeRuntime[]> {
    const out: NodeRuntime[] = [];
    for (const { dir, source } of this.dirs) {
      const found: NodeRuntime[] = [];
      if (!existsSync(dir)) continue;
      for (const version of readdirSync(dir)) {
        if (!NODE_VERSION_RE.test(version)) continue;
        for (const arch of RUNTIME_ARCHES) {
          const path = join(dir, version, arch, 'node.tgz');
          let st;
          try {
            st = statSync(path);
          } catch {
            continue;
          }
          if (!st.isFile()) continue;
          const sha256 = await this.hash(path, `${st.size}:${st.mtimeMs}`);
          found.push({
            version,
            arch,
            sha256,
            size: st.size,
            path,
            urlPath: `/v1/artifacts/node/${version}/${arch}/node.tgz`,
            source,
          });
        }
      }
      found.sort((a, b) => compareVersions(b.version, a.version) || a.arch.localeCompare(b.arch));
      // The first directory wins for a version both have.
      for (const r of found) if (!out.some((o) => o.version === r.version && o.arch === r.arch)) out.push(r);
    }
    return out;
  }

  async get(version: string, arch: string): Promise<NodeRuntime | undefined> {
    if (!NODE_VERSION_RE.test(version)) return undefined;
    return (await this.list()).find((r) => r.version === version && r.arch === arch);
  }

  private async hash(path: string, key: string): Promise<string> {
    const cached = this.hashes.get(path);
    if (cached?.key === key) return cached.sha256;
    const side = `${path}.sha256`;
    let sha256: string | undefined;
    if (existsSync(side) && statSync(side).mtimeMs >= statSync(path).mtimeMs) {
      const s = readFileSync(side, 'utf8').split(/\s+/)[0];
      if (/^[0-9a-f]{64}$/.test(s)) sha256 = s;
    }
    sha256 ??= await sha256File(path);
    this.hashes.set(path, { key, sha256 });
    return sha256;
  }
}
