// Agent bundles the hub serves by version, for installs and agent self-upgrades:
//   imported    <data-dir>/artifacts/agent/<version>/atoll-agent.mjs (+ .sha256)   (atoll-hub artifact import agent)
//   packaged    <package>/dist/artifacts/agent/{atoll-agent.mjs, manifest.json}     (built by npm ci)
// An import is checked before it is kept: it must be a script that says it is the version it is
// imported as (`node F --version`). Copy to a temp file, hash, rename: never half a bundle.
import {
  chmodSync,
  copyFileSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  closeSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  mkdirSync,
} from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { readAgentBundle, type AgentBundle } from '../installer/served-artifacts.js';
import { sha256File } from './hash.js';
import { ArtifactError } from './errors.js';
import { compareVersions } from '../versions/compare.js';

const VERSION_RE = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;

export function validateAgentVersion(version: string): void {
  if (!VERSION_RE.test(version))
    throw new ArtifactError('ARTIFACT_INVALID', `"${version}" is not an agent version like 0.2.0`);
}

/** Agent versions order as x.y.z[-pre] (hub/versions/compare.ts). */
export { compareVersions as compareAgentVersions };

export class AgentBundleStore {
  constructor(
    private readonly root: string,
    private readonly packagedDir?: string,
  ) {}

  private dir(version: string): string {
    return join(this.root, 'agent', version);
  }

  private imported(version: string): AgentBundle | undefined {
    const path = join(this.dir(version), 'atoll-agent.mjs');
    const sumFile = `${path}.sha256`;
    if (!existsSync(path) || !existsSync(sumFile)) return undefined;
    return {
      version,
      sha256: readFileSync(sumFile, 'utf8').split(/\s+/)[0],
      size: statSync(path).size,
      path,
      urlPath: `/v1/artifacts/agent/${version}/atoll-agent.mjs`,
    };
  }

  /** The bundle the hub's own package built (its version is the hub's). */
  packaged(): AgentBundle | undefined {
    return this.packagedDir ? readAgentBundle(this.packagedDir) : undefined;
  }

  get(version: string): AgentBundle | undefined {
    if (!VERSION_RE.test(version)) return undefined;
    return this.imported(version) ?? (this.packaged()?.version === version ? this.packaged() : undefined);
  }

  list(): AgentBundle[] {
    const out = new Map<string, AgentBundle>();
    const p = this.packaged();
    if (p) out.set(p.version, p);
    const base = join(this.root, 'agent');
    if (existsSync(base)) {
      for (const v of readdirSync(base)) {
        const b = VERSION_RE.test(v) ? this.imported(v) : undefined;
        if (b) out.set(v, b);
      }
    }
    return [...out.values()].sort((a, b) => compareVersions(a.version, b.version));
  }

  isImported(version: string): boolean {
    return VERSION_RE.test(version) && this.imported(version) !== undefined;
  }

  /** Deletes an imported bundle (the packaged one is not in this store's directory). */
  delete(version: string): AgentBundle {
    const b = VERSION_RE.test(version) ? this.imported(version) : undefined;
    if (!b) throw new ArtifactError('ARTIFACT_NOT_FOUND', `no imported agent bundle ${version}`);
    rmSync(`${b.path}.sha256`, { force: true });
    rmSync(this.dir(version), { recursive: true, force: true });
    return b;
  }

  async import(
    version: string,
    file: string,
    opts: { force?: boolean } = {},
  ): Promise<AgentBundle & { unchanged: boolean }> {
    validateAgentVersion(version);
    if (!existsSync(file) || !statSync(file).isFile())
      throw new ArtifactError('ARTIFACT_INVALID', `${file} is not a file`);
    const existing = this.imported(version);
    if (existing && !opts.force) {
      const sha256 = await sha256File(file);
      if (sha256 === existing.sha256) return { ...existing, unchanged: true };
      throw new ArtifactError(
        'ARTIFACT_EXISTS',
        `agent ${version} is already imported (sha256 ${existing.sha256}), and ${file} is a different file (sha256 ${sha256}): pass --force to replace it`,
      );
    }
    const head = Buffer.alloc(2);
    const fd = openSync(file, 'r');
    try {
      readSync(fd, head, 0, 2, 0);
    } finally {
      closeSync(fd);
    }
    if (head.toString() !== '#!')
      throw new ArtifactError(
        'ARTIFACT_INVALID',
        `${file} is not an agent bundle (no #! line; build one with node scripts/build-agent-bundle.mjs)`,
      );
    const said = await execa(process.execPath, [file, '--version'], {
      reject: false,
      timeout: 20_000,
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    if (said.exitCode !== 0 || String(said.stdout).trim() !== version) {
      throw new ArtifactError(
        'ARTIFACT_INVALID',
        `${file} --version says "${String(said.stdout || said.stderr)
          .trim()
          .slice(0, 200)}", not ${version}`,
      );
    }
    const dir = this.dir(version);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const tmp = join(dir, `.atoll-agent.mjs.${process.pid}.tmp`);
    try {
      copyFileSync(file, tmp);
      chmodSync(tmp, 0o644);
      const sha256 = await sha256File(tmp);
      writeFileSync(join(dir, 'atoll-agent.mjs.sha256'), `${sha256}  atoll-agent.mjs\n`);
      renameSync(tmp, join(dir, 'atoll-agent.mjs'));
      return { ...this.imported(version)!, unchanged: false };
    } finally {
      rmSync(tmp, { force: true });
    }
  }
}
