// atoll-hub pool …: list, show, create, update, delete.
import type { Command } from 'commander';
import { client } from './session.js';
import { CliError, printRows } from './output.js';

type Obj = Record<string, unknown>;
const s = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

export function collect(value: string, prev: string[]): string[] {
  return [...prev, value];
}

export function kv(pairs: string[], flag = '--label'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0) throw new CliError(`${flag} must be key=value, got "${p}"`, 2);
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}

interface PoolFlags { description?: string; label: string[]; taint: string[] }

function poolBody(o: PoolFlags): Obj {
  const body: Obj = {};
  if (o.description !== undefined) body.description = o.description;
  if (o.label.length) body.labels = kv(o.label);
  if (o.taint.length) body.taints = o.taint;
  return body;
}

export function registerPoolCommands(program: Command): void {
  const pool = program.command('pool').description('node pools: list, show, create, update, delete');
  pool.command('list').description('list pools').action(async (_o, cmd: Command) => {
    const c = client(cmd);
    const r = await c.api.call<{ items: Obj[] }>('GET', '/v1/pools');
    if (c.structured) return c.print(r);
    printRows([
      { header: 'NAME', value: (p) => s(p.name) },
      { header: 'LABELS', value: (p) => Object.entries(p.labels as Obj).map(([k, v]) => `${k}=${s(v)}`).join(',') },
      { header: 'TAINTS', value: (p) => (p.taints as string[]).join(',') },
      { header: 'AUTOHEAL', value: (p) => { const a = p.autoheal as Obj | undefined; return a ? (a.enabled ? (a.paused ? 'paused' : 'on') : 'off') : ''; }, wide: true },
      { header: 'HOOK', value: (p) => s((p.autoheal as Obj | undefined)?.hook), wide: true },
      { header: 'UPDATED', value: (p) => s(p.updatedAt), wide: true },
      { header: 'DESCRIPTION', value: (p) => s(p.description) },
    ], r.items, c.format);
  });
  const poolFields = (cmd: Command): Command => cmd
    .option('--description <text>', 'free text')
    .option('--label <k=v>', 'node label for the pool (repeatable)', collect, [])
    .option('--taint <k=v:Effect>', 'node taint for the pool (repeatable)', collect, []);
  poolFields(pool.command('create').description('create a pool').argument('<name>', 'pool name (lower case, digits, -)')).action(async (name: string, o: PoolFlags, cmd: Command) => {
    const c = client(cmd);
    const p = await c.api.call<Obj>('POST', '/v1/pools', { name, ...poolBody(o) });
    if (c.structured) c.print(p);
    else process.stdout.write(`pool ${name} created\n`);
  });
  poolFields(pool.command('update').description('change a pool').argument('<name>', 'pool name')).action(async (name: string, o: PoolFlags, cmd: Command) => {
    const body = poolBody(o);
    if (Object.keys(body).length === 0) throw new CliError('nothing to update: give --description, --label or --taint', 2);
    const c = client(cmd);
    const p = await c.api.call<Obj>('PATCH', `/v1/pools/${encodeURIComponent(name)}`, body);
    if (c.structured) c.print(p);
    else process.stdout.write(`pool ${name} updated\n`);
  });
  pool.command('delete').description('delete a pool (refused while it has nodes or live tokens)').argument('<name>', 'pool name').action(async (name: string, _o, cmd: Command) => {
    const c = client(cmd);
    await c.api.call('DELETE', `/v1/pools/${encodeURIComponent(name)}`);
    if (c.structured) c.print({ name, deleted: true });
    else process.stdout.write(`pool ${name} deleted\n`);
  });
}
