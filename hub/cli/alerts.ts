// atoll-hub alerts: the active problems (GET /v1/alerts), worst first.
import type { Command } from 'commander';
import { client } from './session.js';
import { printRows } from './output.js';

interface Alert {
  id: string;
  severity: string;
  since: string;
  message: string;
  link: string;
}

export function registerAlertCommands(program: Command): void {
  program
    .command('alerts')
    .description('list the active alerts: control plane, nodes, certificates, versions, autoheal, rollouts')
    .action(async (_o, cmd: Command) => {
      const c = client(cmd);
      const r = await c.api.call<{ items: Alert[] }>('GET', '/v1/alerts');
      if (c.structured) return c.print(r);
      if (!r.items.length) {
        process.stdout.write('no active alerts\n');
        return;
      }
      printRows(
        [
          { header: 'SEVERITY', value: (a: Alert) => a.severity },
          { header: 'SINCE', value: (a: Alert) => a.since },
          { header: 'ID', value: (a: Alert) => a.id, wide: true },
          { header: 'MESSAGE', value: (a: Alert) => a.message },
        ],
        r.items,
        c.format,
      );
    });
}
