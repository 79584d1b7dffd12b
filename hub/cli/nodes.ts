// atoll-hub nodes and node …: list, show, remove, actions.
import type { Command } from 'commander';
import { client } from './session.js';
import { ago, printJson, printRows, type Column } from './output.js';
import { registerNodeAutoheal } from './settings.js';

type Obj = Record<string, unknown>;
const s = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
const health = (n: Obj): Obj | null => n.health as Obj | null;

const nodeColumns: Array<Column<Obj>> = [
  { header: 'ID', value: (n) => s(n.id) },
  { header: 'NAME', value: (n) => s(n.name) },
  { header: 'POOL', value: (n) => s(n.pool) },
  { header: 'STATE', value: (n) => s(n.state) },
  { header: 'LAST SEEN', value: (n) => ago(n.lastSeen as string | null) },
  { header: 'AGENT', value: (n) => s(n.agentVersion) },
  { header: 'K3S', value: (n) => `${s((n.k3s as Obj).state)} ${s((n.k3s as Obj).version)}`.trim() },
  { header: 'CPU%', value: (n) => s(health(n)?.cpuPercent) },
  { header: 'MEM%', value: (n) => s((health(n)?.memory as Obj | undefined)?.usedPercent) },
  { header: 'DISK%', value: (n) => s((health(n)?.disk as Obj | undefined)?.usedPercent) },
  { header: 'ARCH', value: (n) => s((n.facts as Obj | undefined)?.arch), wide: true },
  { header: 'OS', value: (n) => s((n.facts as Obj | undefined)?.os), wide: true },
  { header: 'REASONS', value: (n) => (n.reasons as string[] | undefined ?? []).join(','), wide: true },
  { header: 'LABELS', value: (n) => Object.entries(n.labels as Obj ?? {}).map(([k, v]) => `${k}=${s(v)}`).join(','), wide: true },
  { header: 'ADDRESSES', value: (n) => (n.addresses as string[]).slice(0, 2).join(',') },
];

export function registerNodeCommands(program: Command): void {
  program.command('nodes').description('list nodes').option('--pool <pool>', 'only the nodes of this pool').action(async (o: { pool?: string }, cmd: Command) => {
    const c = client(cmd);
    const r = await c.api.call<{ items: Obj[] }>('GET', `/v1/nodes${o.pool ? `?pool=${encodeURIComponent(o.pool)}` : ''}`);
    if (c.structured) return c.print(r);
    printRows(nodeColumns, r.items, c.format);
  });

  const node = program.command('node').description('one node: show, remove, cordon, uncordon, restart-k3s, reboot, remediate');
  node.command('show').argument('<node>', 'node id').description('show a node').action(async (id: string, _o, cmd: Command) => {
    const c = client(cmd);
    const n = await c.api.call('GET', `/v1/nodes/${encodeURIComponent(id)}`);
    if (c.format === 'yaml') c.print(n);
    else printJson(n);
  });
  node.command('remove').argument('<node>', 'node id').description('remove a node: drain it, revoke its certificate and close its connection').action(async (id: string, _o, cmd: Command) => {
    const c = client(cmd);
    await c.api.call('DELETE', `/v1/nodes/${encodeURIComponent(id)}`);
    if (c.structured) c.print({ id, removed: true });
    else process.stdout.write(`node ${id} removed\n`);
  });
  registerNodeAutoheal(node, async (_c, ref) => ref);
  const actions: Record<string, string> = {
    cordon: 'mark a node unschedulable',
    uncordon: 'mark a node schedulable again',
    'restart-k3s': 'restart k3s on a node (through its agent)',
    reboot: 'drain and reboot a node (through its agent)',
    remediate: 'take the next autoheal step for a node now, through the same guards',
  };
  for (const [action, what] of Object.entries(actions)) {
    node.command(action).argument('<node>', 'node id').description(what).action(async (id: string, _o, cmd: Command) => {
      const c = client(cmd);
      const r = await c.api.call<Obj>('POST', `/v1/nodes/${encodeURIComponent(id)}/actions/${action}`);
      if (c.structured) c.print(r);
      else process.stdout.write(`${action} on ${id}: ok\n`);
    });
  }
}
