// atoll-hub artifact import | list | delete. Imports run on the hub's host, straight into
// <data-dir>/artifacts (a k3s binary is checked first: k3s-check.ts), and leave an audit event in
// the hub's store; list and delete go through the API (delete is refused while an artifact is needed).
import type { Command } from 'commander';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { client } from './session.js';
import { CliError, parseOutput, printJson, printTable } from './output.js';
import { defaultDataDir } from '../config.js';
import { ArtifactStore, ArtifactError } from '../artifacts/artifact-store.js';
import type { NewEvent } from '../store/index.js';
import { existsSync } from 'node:fs';
import { recordAdminEvent } from '../backup/audit.js';
import { parseDatastore } from '../store/index.js';

interface Globals {
  dataDir?: string;
  output?: string;
}
type Obj = Record<string, unknown>;
const s = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

function dataDirOf(cmd: Command): string {
  return cmd.optsWithGlobals<Globals>().dataDir ?? defaultDataDir(process.env, process.getuid?.() === 0);
}

/**
 * The audit trail of a local import: straight into the hub's store (safe beside a running hub), the
 * datastore of ATOLL_DATASTORE as `atoll-hub run` reads it. No hub.db yet (nothing to audit into): skipped.
 */
async function audit(dataDir: string, event: NewEvent): Promise<void> {
  const spec = parseDatastore(process.env.ATOLL_DATASTORE, dataDir);
  if (spec.kind === 'sqlite' && !existsSync(spec.path)) return;
  await recordAdminEvent(spec, event);
}

function actor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return `cli:uid-${process.getuid?.() ?? '?'}`;
  }
}

export function registerArtifactCommands(program: Command): void {
  const artifact = program.command('artifact').description('binaries the hub serves to agents: import, list, delete');
  artifact
    .command('import')
    .description(
      'import a k3s binary (atoll-hub artifact import k3s --version V --arch A --file F; it must run and say V, or for another arch be an ELF binary for it) or an agent bundle (atoll-hub artifact import agent --version V --file F)',
    )
    .argument('<kind>', 'k3s or agent')
    .requiredOption('--version <version>', 'k3s version, e.g. v1.31.4+k3s1; agent version, e.g. 0.2.0')
    .option('--arch <arch>', 'amd64, arm64 or arm (k3s)')
    .requiredOption('--file <path>', 'the binary or bundle')
    .option('--force', 'replace an artifact already imported for this version (and arch)')
    .action(
      async (kind: string, o: { version: string; arch?: string; file: string; force?: boolean }, cmd: Command) => {
        if (kind !== 'k3s' && kind !== 'agent') throw new CliError(`unknown artifact kind "${kind}" (k3s or agent)`, 2);
        const dataDir = dataDirOf(cmd);
        const json = parseOutput(cmd.optsWithGlobals<Globals>().output) === 'json';
        const store = new ArtifactStore(join(dataDir, 'artifacts'));
        try {
          if (kind === 'agent') {
            const b = await store.agents.import(o.version, o.file, { force: o.force });
            if (!b.unchanged)
              await audit(dataDir, {
                type: 'artifact.imported',
                actor: actor(),
                message: `agent bundle ${b.version} imported from ${o.file}`,
                data: { kind: 'agent', version: b.version, sha256: b.sha256 },
              });
            if (json) printJson({ version: b.version, sha256: b.sha256, size: b.size, unchanged: b.unchanged });
            else
              process.stdout.write(
                `${b.unchanged ? 'already imported:' : 'imported'} agent ${b.version} (sha256 ${b.sha256})\n`,
              );
            return;
          }
          if (!o.arch) throw new CliError('a k3s import needs --arch (amd64, arm64 or arm)', 2);
          const a = await store.importK3s(o.version, o.arch, o.file, { force: o.force });
          const how =
            a.checked === 'ran'
              ? `it ran and said ${a.version}`
              : `ELF header for ${a.arch} checked; it cannot run on this host`;
          if (!a.unchanged) {
            await audit(dataDir, {
              type: 'artifact.imported',
              actor: actor(),
              message: `k3s ${a.version} for ${a.arch} imported from ${o.file}${a.replaced ? ` (replaced sha256 ${a.replaced})` : ''}`,
              data: {
                kind: 'k3s',
                version: a.version,
                arch: a.arch,
                sha256: a.sha256,
                checked: a.checked,
                replaced: a.replaced ?? null,
              },
            });
          }
          if (json)
            printJson({
              version: a.version,
              arch: a.arch,
              sha256: a.sha256,
              size: a.size,
              checked: a.checked,
              unchanged: a.unchanged,
              replaced: a.replaced ?? null,
            });
          else
            process.stdout.write(
              `${a.unchanged ? 'already imported:' : a.replaced ? 'replaced' : 'imported'} k3s ${a.version} for ${a.arch} (sha256 ${a.sha256}; ${how})\n`,
            );
        } catch (err) {
          if (err instanceof ArtifactError) throw new CliError(err.message, 1);
          throw err;
        }
      },
    );

  artifact
    .command('list')
    .description('the k3s binaries and agent bundles the hub serves, and what still needs them')
    .action(async (_o, cmd: Command) => {
      const g = cmd.optsWithGlobals<Globals>();
      const { api } = client(cmd);
      const r = await api.call<{ k3s: Obj[]; agent?: Obj[] }>('GET', '/v1/artifacts');
      if (parseOutput(g.output) === 'json') return printJson(r);
      printTable(
        ['KIND', 'VERSION', 'ARCH', 'SIZE', 'SHA256', 'IN USE'],
        [
          ...r.k3s.map((a) => ['k3s', s(a.version), s(a.arch), s(a.size), s(a.sha256), s(a.inUse)]),
          ...(r.agent ?? []).map((a) => ['agent', s(a.version), 'any', s(a.size), s(a.sha256), s(a.inUse)]),
        ],
      );
    });

  artifact
    .command('delete')
    .description(
      'delete a k3s artifact (--version V --arch A) or an imported agent bundle (--version V); refused while needed unless --force',
    )
    .argument('<kind>', 'k3s or agent')
    .requiredOption('--version <version>', 'the version to delete')
    .option('--arch <arch>', 'amd64, arm64 or arm (k3s)')
    .option('--force', 'delete although the control plane, a node or a rollout still needs it')
    .action(async (kind: string, o: { version: string; arch?: string; force?: boolean }, cmd: Command) => {
      if (kind !== 'k3s' && kind !== 'agent') throw new CliError(`unknown artifact kind "${kind}" (k3s or agent)`, 2);
      if (kind === 'k3s' && !o.arch)
        throw new CliError('deleting a k3s artifact needs --arch (amd64, arm64 or arm)', 2);
      const g = cmd.optsWithGlobals<Globals>();
      const { api } = client(cmd);
      const path =
        kind === 'k3s'
          ? `/v1/artifacts/k3s/${encodeURIComponent(o.version)}/${encodeURIComponent(o.arch!)}`
          : `/v1/artifacts/agent/${encodeURIComponent(o.version)}`;
      await api.call('DELETE', `${path}${o.force ? '?force=true' : ''}`);
      const what = kind === 'k3s' ? `k3s ${o.version} for ${o.arch}` : `agent bundle ${o.version}`;
      if (parseOutput(g.output) === 'json')
        printJson({ kind, version: o.version, arch: o.arch ?? null, deleted: true });
      else process.stdout.write(`${what} deleted\n`);
    });
}
