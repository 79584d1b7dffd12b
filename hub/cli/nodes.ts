// atoll-hub nodes and node …: list, show, remove, actions.
import type { Command } from 'commander';
import { client, type Session } from './session.js';
import { ago, CliError, printJson, printRows, type Column } from './output.js';
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
  { header: 'REASONS', value: (n) => ((n.reasons as string[] | undefined) ?? []).join(','), wide: true },
  {
    header: 'LABELS',
    value: (n) =>
      Object.entries((n.labels as Obj) ?? {})
        .map(([k, v]) => `${k}=${s(v)}`)
        .join(','),
    wide: true,
  },
  { header: 'ADDRESSES', value: (n) => (n.addresses as string[]).slice(0, 2).join(',') },
];

const isNotFound = (err: unknown): boolean => err instanceof CliError && /\(NOT_FOUND, HTTP 404\)$/.test(err.message);

/** A node's id from its id or its name (an id wins; a name two nodes share is refused). */
export async function resolveNode(c: Session, ref: string): Promise<string> {
  try {
    await c.api.call('GET', `/v1/nodes/${encodeURIComponent(ref)}`);
    return ref;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const named = (await c.api.call<{ items: Obj[] }>('GET', '/v1/nodes')).items.filter((n) => n.name === ref);
  if (named.length === 1) return s(named[0].id);
  if (named.length > 1)
    throw new CliError(`${named.length} nodes are named ${ref} (${named.map((n) => s(n.id)).join(', ')}): give the id`);
  throw new CliError(`no node ${ref} (neither an id nor a name; see atoll-hub nodes)`);
}

export function registerNodeCommands(program: Command): void {
  program
    .command('nodes')
    .description('list nodes')
    .option('--pool <pool>', 'only the nodes of this pool')
    .option('--state <state>', 'only nodes in this state (ready, degraded, unreachable, …)')
    .action(async (o: { pool?: string; state?: string }, cmd: Command) => {
      const c = client(cmd);
      if (o.pool) {
        try {
          await c.api.call('GET', `/v1/pools/${encodeURIComponent(o.pool)}`);
        } catch (err) {
          if (isNotFound(err)) throw new CliError(`no pool ${o.pool} (see atoll-hub pool list)`);
          throw err;
        }
      }
      const q = new URLSearchParams();
      if (o.pool) q.set('pool', o.pool);
      if (o.state) q.set('state', o.state);
      const r = await c.api.call<{ items: Obj[] }>('GET', `/v1/nodes${q.size ? `?${q}` : ''}`);
      if (c.structured) return c.print(r);
      printRows(nodeColumns, r.items, c.format);
    });

  const node = program
    .command('node')
    .description('one node: show, remove, cordon, uncordon, restart-k3s, reboot, remediate, clear-attention');
  node
    .command('show')
    .argument('<node>', 'node id or name')
    .description('show a node (JSON; -o yaml)')
    .action(async (ref: string, _o, cmd: Command) => {
      const c = client(cmd);
      const n = await c.api.call('GET', `/v1/nodes/${encodeURIComponent(await resolveNode(c, ref))}`);
      if (c.format === 'yaml') c.print(n);
      else printJson(n);
    });
  node
    .command('remove')
    .argument('<node>', 'node id or name')
    .description('remove a node: drain it, revoke its certificate and close its connection')
    .action(async (ref: string, _o, cmd: Command) => {
      const c = client(cmd);
      const id = await resolveNode(c, ref);
      await c.api.call('DELETE', `/v1/nodes/${encodeURIComponent(id)}`);
      if (c.structured) c.print({ id, removed: true });
      else process.stdout.write(`node ${id} removed\n`);
    });
  registerNodeAutoheal(node, resolveNode);
  const actions: Record<string, string> = {
    cordon: 'mark a node unschedulable',
    uncordon: 'mark a node schedulable again',
    'restart-k3s': 'restart k3s on a node (through its agent)',
    reboot: 'drain and reboot a node (through its agent)',
    remediate: 'take the next autoheal step for a node now, through the same guards',
    'clear-attention':
      'take a node out of needs-attention: its state follows its reports again, autoheal uncordons what it cordoned',
  };
  for (const [action, what] of Object.entries(actions)) {
    node
      .command(action)
      .argument('<node>', 'node id or name')
      .description(what)
      .action(async (ref: string, _o, cmd: Command) => {
        const c = client(cmd);
        const id = await resolveNode(c, ref);
        const r = await c.api.call<Obj>('POST', `/v1/nodes/${encodeURIComponent(id)}/actions/${action}`);
        if (c.structured) c.print(r);
        else if (action === 'clear-attention' && typeof r.message === 'string') process.stdout.write(`${r.message}\n`);
        else process.stdout.write(`${action} on ${ref === id ? id : `${ref} (${id})`}: ok\n`);
      });
  }
}
