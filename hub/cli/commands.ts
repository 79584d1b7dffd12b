// atoll-hub admin commands: thin wrappers over the dashboard API.
import type { Command } from 'commander';
import { client, dataDirOf, outputFormat } from './session.js';
import { isStructured, printDocument, printRows, CliError } from './output.js';
import { ArtifactStore, ArtifactError } from '../artifacts/artifact-store.js';
import { join } from 'node:path';
import { registerUpgradeCommands } from './upgrade.js';
import { registerTokenCommands } from './tokens.js';
import { registerNodeCommands } from './nodes.js';
import { collect, kv, registerPoolCommands } from './pools.js';
import { registerSettingsCommands } from './settings.js';
import { registerEventCommands } from './events.js';
import { registerContextCommands } from './context-commands.js';
import { registerCompletionCommand } from './completion.js';

type Obj = Record<string, unknown>;
const s = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

export function registerAdminCommands(program: Command): void {
  registerUpgradeCommands(program);
  registerTokenCommands(program);
  registerNodeCommands(program);
  registerPoolCommands(program);
  registerSettingsCommands(program);

  program.command('join-command').description('print an install line (or, with --cloud-init, a #cloud-config document) with a fresh single-use token')
    .option('--pool <pool>', 'pool to join', 'default')
    .option('--ttl <duration>', 'token lifetime', '1h')
    .option('--cloud-init', 'print a #cloud-config document that joins a new server')
    .option('--label <k=v>', 'with --cloud-init: node label (repeatable)', collect, [])
    .option('--name-prefix <prefix>', 'with --cloud-init: name nodes <prefix>-<machine id>')
    .option('--k3s <mode>', 'with --cloud-init: auto | off')
    .action(async (o: { pool: string; ttl: string; cloudInit?: boolean; label: string[]; namePrefix?: string; k3s?: string }, cmd: Command) => {
      const c = client(cmd);
      if (o.cloudInit) {
        const q = new URLSearchParams({ ttl: o.ttl });
        if (o.label.length) q.set('labels', Object.entries(kv(o.label)).map(([k, v]) => `${k}=${v}`).join(','));
        if (o.namePrefix) q.set('namePrefix', o.namePrefix);
        if (o.k3s) q.set('k3s', o.k3s);
        const doc = await c.api.call<string>('GET', `/v1/pools/${encodeURIComponent(o.pool)}/cloud-init?${q.toString()}`);
        if (c.structured) c.print({ pool: o.pool, cloudConfig: doc });
        else process.stdout.write(doc.endsWith('\n') ? doc : `${doc}\n`);
        return;
      }
      const r = await c.api.call<Obj>('POST', '/v1/join-command', { pool: o.pool, ttl: o.ttl });
      if (c.structured) c.print(r);
      else process.stdout.write(`${s(r.command)}\n`);
    });

  const artifact = program.command('artifact').description('binaries the hub serves to agents: import, list');
  artifact.command('import').description('import a k3s binary (atoll-hub artifact import k3s --version V --arch A --file F) or an agent bundle (atoll-hub artifact import agent --version V --file F)')
    .argument('<kind>', 'k3s or agent')
    .requiredOption('--version <version>', 'k3s version, e.g. v1.31.4+k3s1; agent version, e.g. 0.2.0')
    .option('--arch <arch>', 'amd64, arm64 or arm (k3s)')
    .requiredOption('--file <path>', 'the binary or bundle')
    .action(async (kind: string, o: { version: string; arch?: string; file: string }, cmd: Command) => {
      if (kind !== 'k3s' && kind !== 'agent') throw new CliError(`unknown artifact kind "${kind}" (k3s or agent)`, 2);
      const format = outputFormat(cmd);
      const store = new ArtifactStore(join(dataDirOf(cmd), 'artifacts'));
      try {
        if (kind === 'agent') {
          const b = await store.agents.import(o.version, o.file);
          if (isStructured(format)) printDocument({ version: b.version, sha256: b.sha256, size: b.size }, format);
          else process.stdout.write(`imported agent ${b.version} (sha256 ${b.sha256})\n`);
          return;
        }
        if (!o.arch) throw new CliError('a k3s import needs --arch (amd64, arm64 or arm)', 2);
        const a = await store.importK3s(o.version, o.arch, o.file);
        if (isStructured(format)) printDocument({ version: a.version, arch: a.arch, sha256: a.sha256, size: a.size }, format);
        else process.stdout.write(`imported k3s ${a.version} for ${a.arch} (sha256 ${a.sha256})\n`);
      } catch (err) {
        if (err instanceof ArtifactError) throw new CliError(err.message, 1);
        throw err;
      }
    });
  artifact.command('list').description('list the k3s binaries and agent bundles the hub serves').action(async (_o, cmd: Command) => {
    const c = client(cmd);
    const r = await c.api.call<{ k3s: Obj[]; agent?: Obj[] }>('GET', '/v1/artifacts');
    if (c.structured) return c.print(r);
    printRows<Obj>([
      { header: 'KIND', value: (a) => s(a.kind) },
      { header: 'VERSION', value: (a) => s(a.version) },
      { header: 'ARCH', value: (a) => s(a.arch) },
      { header: 'SIZE', value: (a) => s(a.size) },
      { header: 'SHA256', value: (a) => s(a.sha256) },
    ], [...r.k3s.map((a) => ({ ...a, kind: 'k3s' })), ...(r.agent ?? []).map((a) => ({ ...a, kind: 'agent', arch: 'any' }))], c.format);
  });

  program.command('kubeconfig').description('print the admin kubeconfig of the control plane').action(async (_o, cmd: Command) => {
    const c = client(cmd);
    const doc = await c.api.call<string>('GET', '/v1/cluster/kubeconfig');
    if (c.format === 'json') c.print({ kubeconfig: doc });
    else process.stdout.write(doc);
  });

  registerEventCommands(program);
  registerContextCommands(program);
  registerCompletionCommand(program);
}
