// atoll-hub admin commands: thin wrappers over the dashboard API.
import type { Command } from 'commander';
import { client } from './session.js';
import { registerUpgradeCommands } from './upgrade.js';
import { registerTokenCommands } from './tokens.js';
import { registerNodeCommands } from './nodes.js';
import { collect, kv, registerPoolCommands } from './pools.js';
import { registerSettingsCommands } from './settings.js';
import { registerEventCommands } from './events.js';
import { registerContextCommands } from './context-commands.js';
import { registerCompletionCommand } from './completion.js';
import { registerArtifactCommands } from './artifact.js';
import { registerDatastoreCommands } from './datastore.js';
import { registerVersionCommands } from './versions.js';
import { registerAlertCommands } from './alerts.js';
import { registerHubCommands } from './hubs.js';
import { registerBackupCommands } from './backup.js';
import { registerClusterReset } from './cluster-reset.js';
import { registerAutoscalerCommands } from './autoscaler.js';
import { registerAdminTokenCommands } from './admin-token.js';

type Obj = Record<string, unknown>;
const s = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

export function registerAdminCommands(program: Command): void {
  registerUpgradeCommands(program);
  registerTokenCommands(program);
  registerNodeCommands(program);
  registerPoolCommands(program);
  registerSettingsCommands(program);

  program
    .command('join-command')
    .description(
      'print an install line (or, with --cloud-init, a #cloud-config document) with a fresh single-use token',
    )
    .option('--pool <pool>', 'pool to join', 'default')
    .option('--ttl <duration>', 'token lifetime', '1h')
    .option('--cloud-init', 'print a #cloud-config document that joins a new server')
    .option('--label <k=v>', 'with --cloud-init: node label (repeatable)', collect, [])
    .option('--name-prefix <prefix>', 'with --cloud-init: name nodes <prefix>-<machine id>')
    .option('--k3s <mode>', 'with --cloud-init: auto | off')
    .action(
      async (
        o: { pool: string; ttl: string; cloudInit?: boolean; label: string[]; namePrefix?: string; k3s?: string },
        cmd: Command,
      ) => {
        const c = client(cmd);
        if (o.cloudInit) {
          const q = new URLSearchParams({ ttl: o.ttl });
          if (o.label.length)
            q.set(
              'labels',
              Object.entries(kv(o.label))
                .map(([k, v]) => `${k}=${v}`)
                .join(','),
            );
          if (o.namePrefix) q.set('namePrefix', o.namePrefix);
          if (o.k3s) q.set('k3s', o.k3s);
          const doc = await c.api.call<string>(
            'GET',
            `/v1/pools/${encodeURIComponent(o.pool)}/cloud-init?${q.toString()}`,
          );
          if (c.structured) c.print({ pool: o.pool, cloudConfig: doc });
          else process.stdout.write(doc.endsWith('\n') ? doc : `${doc}\n`);
          return;
        }
        const r = await c.api.call<Obj>('POST', '/v1/join-command', { pool: o.pool, ttl: o.ttl });
        if (c.structured) c.print(r);
        else process.stdout.write(`${s(r.command)}\n`);
      },
    );

  registerArtifactCommands(program);
  registerDatastoreCommands(program);
  registerVersionCommands(program);
  registerAlertCommands(program);
  registerHubCommands(program);
  registerBackupCommands(program);
  registerAutoscalerCommands(program);
  registerAdminTokenCommands(program);

  const cluster = program.command('cluster').description('the control plane');
  cluster
    .command('restart-control-plane')
    .description("restart the hub's k3s server now (admin; also brings a failed one back)")
    .action(async (_o, cmd: Command) => {
      const c = client(cmd);
      const r = await c.api.call<Obj>('POST', '/v1/cluster/actions/restart-control-plane');
      if (c.structured) return c.print(r);
      process.stdout.write(`control plane ${s(r.state)}: ${s(r.message)}\n`);
    });
  registerClusterReset(cluster);

  program
    .command('kubeconfig')
    .description('print the admin kubeconfig of the control plane')
    .action(async (_o, cmd: Command) => {
      const c = client(cmd);
      const doc = await c.api.call<string>('GET', '/v1/cluster/kubeconfig');
      if (c.format === 'json') c.print({ kubeconfig: doc });
      else process.stdout.write(doc);
    });

  registerEventCommands(program);
  registerContextCommands(program);
  registerCompletionCommand(program);
}
