// Binaries the hub serves to agents, under <data-dir>/artifacts:
//   k3s/<version>/<arch>/k3s   with k3s/<version>/<arch>/k3s.sha256
// Imports copy to a temp file, hash, check it is the k3s it claims (k3s-check.ts), then rename: a
// half-written or wrong artifact is never served, and an imported one is replaced only when asked.
import { createHash } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  chmodSync,
} from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { join, resolve, sep } from 'node:path';
import { AgentBundleStore } from './agent-bundles.js';
import { ArtifactError } from './errors.js';
import { checkK3sArtifact } from './k3s-check.js';
import { compareK3sVersions } from '../versions/compare.js';

export { ArtifactError } from './errors.js';
export { sha256File } from './hash.js';
export { compareK3sVersions } from '../versions/compare.js';

export const ARCHES = ['amd64', 'arm64', 'arm'] as const;
export type Arch = (typeof ARCHES)[number];

const VERSION_RE = /^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?\+k3s\d+$/;

export interface K3sArtifact {
  version: string;
  arch: string;
  sha256: string;
  size: number;
  path: string;
  /** Gateway path agents download it from. */
  urlPath: string;
}

export interface ImportOptions {
  /** Replace an artifact already imported for this version and arch. */
  force?: boolean;
  /** The hub's arch (only its binaries can be run to check them); default: this host's. */
  hostArch?: string;
}

export interface ImportedK3s extends K3sArtifact {
  /** How the file was checked: it ran and said its version, or (another arch) its ELF header. */
  checked: 'ran' | 'elf';
  /** The same bytes were already imported: nothing changed. */
  unchanged: boolean;
  /** The sha256 of the artifact it replaced (--force). */
  replaced?: string;
}

export function isK3sVersion(version: string): boolean {
  return VERSION_RE.test(version);
}

export function isArch(arch: string): arch is Arch {
  return (ARCHES as readonly string[]).includes(arch);
}

export function validateK3sVersion(version: string): void {
  if (!VERSION_RE.test(version))
    throw new ArtifactError('ARTIFACT_INVALID', `"${version}" is not a k3s version like v1.31.4+k3s1`);
}

export class ArtifactStore {
  /** Agent bundles by version (imported ones and the package's own). */
  readonly agents: AgentBundleStore;

  constructor(
    private readonly root: string,
    packagedAgentDir?: string,
  ) {
    this.agents = new AgentBundleStore(root, packagedAgentDir);
  }

  /** The folder of one k3s artifact; undefined for names that are not a version and an arch, or lead outside. */
  private k3sDir(version: string, arch: string): string | undefined {
    if (!isK3sVersion(version) || !isArch(arch)) return undefined;
    const base = resolve(this.root, 'k3s');
    const dir = resolve(base, version, arch);
    return dir.startsWith(base + sep) ? dir : undefined;
  }

  async importK3s(version: string, arch: string, file: string, opts: ImportOptions = {}): Promise<ImportedK3s> {
    validateK3sVersion(version);
    if (!isArch(arch)) throw new ArtifactError('ARTIFACT_INVALID', `arch "${arch}" is not one of ${ARCHES.join(', ')}`);
    if (!existsSync(file) || !statSync(file).isFile())
      throw new ArtifactError('ARTIFACT_INVALID', `${file} is not a file`);
    const existing = this.getK3s(version, arch);
    const dir = this.k3sDir(version, arch);
    if (!dir) throw new ArtifactError('ARTIFACT_INVALID', `k3s ${version} ${arch} is not a valid artifact name`);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const tmp = join(dir, `.k3s.${process.pid}.${Date.now()}.tmp`);
    try {
      const h = createHash('sha256');
      const out = createWriteStream(tmp, { mode: 0o755 });
      const input = createReadStream(file);
      input.on('data', (c) => h.update(c));
      await pipeline(input, out);
      chmodSync(tmp, 0o755);
      const sha256 = h.digest('hex');
      if (existing && existing.sha256 !== sha256 && !opts.force) {
        throw new ArtifactError(
          'ARTIFACT_EXISTS',
          `k3s ${version} for ${arch} is already imported (sha256 ${existing.sha256}), and ${file} is a different file (sha256 ${sha256}): pass --force to replace it`,
        );
      }
      const checked = await checkK3sArtifact(tmp, version, arch, file, opts.hostArch);
      if (existing?.sha256 === sha256) return { ...existing, checked, unchanged: true };
      renameSync(tmp, join(dir, 'k3s'));
      writeFileSync(join(dir, 'k3s.sha256'), `${sha256}  k3s\n`);
      return {
        ...this.getK3s(version, arch)!,
        checked,
        unchanged: false,
        ...(existing ? { replaced: existing.sha256 } : {}),
      };
    } finally {
      rmSync(tmp, { force: true });
      // A refused first import leaves no empty directory behind.
      if (!existing && !existsSync(join(dir, 'k3s'))) this.pruneEmpty(version, arch);
    }
  }

  /** Deletes one k3s artifact (the caller checked it is not needed). */
  deleteK3s(version: string, arch: string): K3sArtifact {
    const a = this.getK3s(version, arch);
    const dir = this.k3sDir(version, arch);
    if (!a || !dir) throw new ArtifactError('ARTIFACT_NOT_FOUND', `no k3s ${version} artifact for ${arch}`);
    // The checksum goes first: without it the artifact is no longer listed or served.
    rmSync(join(dir, 'k3s.sha256'), { force: true });
    rmSync(dir, { recursive: true, force: true });
    this.pruneEmpty(version, arch);
    return a;
  }

  private pruneEmpty(version: string, arch: string): void {
    for (const d of [this.k3sDir(version, arch), join(this.root, 'k3s', version)]) {
      try {
        if (d && existsSync(d) && readdirSync(d).length === 0) rmSync(d, { recursive: true });
      } catch {
        // raced with another import: leave it
      }
    }
  }

  getK3s(version: string, arch: string): K3sArtifact | undefined {
    const dir = this.k3sDir(version, arch);
    if (!dir) return undefined;
    const bin = join(dir, 'k3s');
    const sumFile = join(dir, 'k3s.sha256');
    if (!existsSync(bin) || !existsSync(sumFile)) return undefined;
    const sha256 = readFileSync(sumFile, 'utf8').split(/\s+/)[0];
    return {
      version,
      arch,
      sha256,
      size: statSync(bin).size,
      path: bin,
      urlPath: `/v1/artifacts/k3s/${encodeURIComponent(version)}/${arch}`,
    };
  }

  listK3s(): K3sArtifact[] {
    const base = join(this.root, 'k3s');
    if (!existsSync(base)) return [];
    const out: K3sArtifact[] = [];
    for (const version of readdirSync(base)) {
      if (!VERSION_RE.test(version)) continue;
      for (const arch of readdirSync(join(base, version))) {
        const a = this.getK3s(version, arch);
        if (a) out.push(a);
      }
    }
    return out.sort((a, b) => compareK3sVersions(a.version, b.version) || a.arch.localeCompare(b.arch));
  }
}
