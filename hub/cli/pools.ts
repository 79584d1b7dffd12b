// atoll-hub pool …: list, show, create, update, scale, delete.
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

/** true/false (also on/off, yes/no) for a flag, else a usage error. */
export function parseBool(value: string, flag: string): boolean {
  const v = value.trim().toLowerCase();
  if (['true', 'on', 'yes', '1'].includes(v)) return true;
  if (['false', 'off', 'no', '0'].includes(v)) return false;
  throw new CliError(`${flag} must be true or false, not "${value}"`, 2);
}

/** The pool's autoheal settings as flags: flag, API field, kind. */
const AUTOHEAL_FLAGS: Array<[flag: string, field: string, kind: 'bool' | 'int' | 'duration' | 'hook', help: string]> = [
  ['--autoheal-enabled <bool>', 'enabled', 'bool', 'autoheal on (true) or off (false) for the pool'],
  ['--autoheal-paused <bool>', 'paused', 'bool', 'pause autoheal for the pool (true) or resume it (false)'],
  ['--hook <path>', 'hook', 'hook', 'provider hook for reboot/replace: an executable on the hub ("none" to clear)'],
  [
    '--max-unhealthy-percent <n>',
    'maxUnhealthyPercent',
    'int',
    'no repair when more of the pool is unhealthy (at least one node may be repaired)',
  ],
  ['--after-restart <dur>', 'afterRestart', 'duration', 'restart k3s after a node is unhealthy this long'],
  ['--after-reboot <dur>', 'afterReboot', 'duration', 'drain and reboot after this long'],
  ['--after-replace <dur>', 'afterReplace', 'duration', 'replace (hook) or hand over after this long'],
  ['--autoheal-drain-timeout <dur>', 'drainTimeout', 'duration', 'drain time allowed before a reboot or replace'],
  ['--replace-timeout <dur>', 'replaceTimeout', 'duration', 'a replacement must be Ready within this'],
  ['--proven-after <dur>', 'provenAfter', 'duration', 'healthy this long after a step: the step is proven'],
  ['--min-healthy-period <dur>', 'minHealthyPeriod', 'duration', 'healthy this long: the ladder count resets'],
  ['--cooldown-min <dur>', 'cooldownMin', 'duration', 'shortest cooldown after a failed repair'],
  ['--cooldown-max <dur>', 'cooldownMax', 'duration', 'longest cooldown after a failed repair'],
];

const camel = (flag: string): string =>
  flag
    .split(' ')[0]
    .slice(2)
    .replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

interface PoolFlags {
  description?: string;
  label: string[];
  taint: string[];
  [k: string]: unknown;
}

function autohealBody(o: PoolFlags): Obj {
  const out: Obj = {};
  for (const [flag, field, kind] of AUTOHEAL_FLAGS) {
    const v = o[camel(flag)];
    if (typeof v !== 'string') continue;
    const name = flag.split(' ')[0];
    if (kind === 'bool') out[field] = parseBool(v, name);
    else if (kind === 'int') {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 100) throw new CliError(`${name} must be an integer from 0 to 100`, 2);
      out[field] = n;
    } else if (kind === 'hook') out[field] = v === 'none' || v === '' ? null : v;
    else out[field] = v;
  }
  return out;
}

/** Size bounds and autoscale settings as flags: flag, field (autoscale.* for the nested ones), help. */
const SIZE_FLAGS: Array<[flag: string, field: string, help: string]> = [
  ['--min-size <n>', 'minSize', 'smallest size of the pool (autoscale and pool scale stay above)'],
  ['--max-size <n>', 'maxSize', 'largest size of the pool (autoscale and pool scale stay below)'],
  ['--autoscale-enabled <bool>', 'autoscale.enabled', 'autoscale on (true; needs a hook with create and delete)'],
  [
    '--scale-down-utilization-threshold <x>',
    'autoscale.scaleDownUtilizationThreshold',
    'a node under this share of requested cpu and memory may be removed (default 0.5)',
  ],
  ['--scale-down-unneeded <dur>', 'autoscale.scaleDownUnneeded', 'how long a node is unneeded before removal (10m)'],
  [
    '--scale-down-delay-after-add <dur>',
    'autoscale.scaleDownDelayAfterAdd',
    'no scale-down this long after a scale-up',
  ],
  ['--max-node-provision-time <dur>', 'autoscale.maxNodeProvisionTime', 'a new node must be Ready within this (15m)'],
];

function sizeBody(o: PoolFlags, body: Obj): void {
  const autoscale: Obj = {};
  for (const [flag, field] of SIZE_FLAGS) {
    const v = o[camel(flag)];
    if (typeof v !== 'string') continue;
    const name = flag.split(' ')[0];
    if (field === 'minSize' || field === 'maxSize') {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new CliError(`${name} must be a whole number`, 2);
      body[field] = n;
    } else if (field === 'autoscale.enabled') autoscale.enabled = parseBool(v, name);
    else if (field === 'autoscale.scaleDownUtilizationThreshold') {
      const x = Number(v);
      if (!(x > 0 && x <= 1)) throw new CliError(`${name} must be a number above 0 and at most 1`, 2);
      autoscale.scaleDownUtilizationThreshold = x;
    } else autoscale[field.slice('autoscale.'.length)] = v;
  }
  if (Object.keys(autoscale).length) body.autoscale = autoscale;
}

function poolBody(o: PoolFlags): Obj {
  const body: Obj = {};
  if (o.description !== undefined) body.description = o.description;
  if (o.label.length) body.labels = kv(o.label);
  if (o.taint.length) body.taints = o.taint;
  const autoheal = autohealBody(o);
  if (Object.keys(autoheal).length) body.autoheal = autoheal;
  sizeBody(o, body);
  return body;
}

function showPool(p: Obj): void {
  const a = (p.autoheal ?? {}) as Obj;
  const lines: Array<[string, unknown]> = [
    ['name', p.name],
    ['description', p.description],
    [
      'labels',
      Object.entries(p.labels as Obj)
        .map(([k, v]) => `${k}=${s(v)}`)
        .join(','),
    ],
    ['taints', (p.taints as string[]).join(',')],
    ['size', `min ${s(p.minSize)}, max ${s(p.maxSize)}`],
    [
      'autoscale',
      `${(p.autoscale as Obj | undefined)?.enabled ? 'on' : 'off'} · scale down under ${s((p.autoscale as Obj | undefined)?.scaleDownUtilizationThreshold)} for ${s((p.autoscale as Obj | undefined)?.scaleDownUnneeded)}, not within ${s((p.autoscale as Obj | undefined)?.scaleDownDelayAfterAdd)} of a scale-up · provision within ${s((p.autoscale as Obj | undefined)?.maxNodeProvisionTime)}`,
    ],
    ['created', p.createdAt],
    ['updated', p.updatedAt],
    ['autoheal', `${a.enabled ? 'on' : 'off'}${a.paused ? ', paused' : ''}`],
    ['  hook', a.hook ?? 'none (no replace: cordon and hand over)'],
    ['  cap', `${s(a.maxUnhealthyPercent)}% of the pool unhealthy (at least one node)`],
    ['  ladder', `restart ${s(a.afterRestart)}, reboot ${s(a.afterReboot)}, replace ${s(a.afterReplace)}`],
    ['  timeouts', `drain ${s(a.drainTimeout)}, replace ${s(a.replaceTimeout)}`],
    [
      '  pacing',
      `proven after ${s(a.provenAfter)}, reset after ${s(a.minHealthyPeriod)}, cooldown ${s(a.cooldownMin)}-${s(a.cooldownMax)}`,
    ],
  ];
  for (const [k, v] of lines) process.stdout.write(`${`${k}:`.padEnd(13)} ${s(v) || '-'}\n`);
}

export function registerPoolCommands(program: Command): void {
  const pool = program.command('pool').description('node pools: list, show, create, update, delete');
  pool
    .command('list')
    .description('list pools')
    .action(async (_o, cmd: Command) => {
      const c = client(cmd);
      const r = await c.api.call<{ items: Obj[] }>('GET', '/v1/pools');
      if (c.structured) return c.print(r);
      printRows(
        [
          { header: 'NAME', value: (p) => s(p.name) },
          {
            header: 'LABELS',
            value: (p) =>
              Object.entries(p.labels as Obj)
                .map(([k, v]) => `${k}=${s(v)}`)
                .join(','),
          },
          { header: 'TAINTS', value: (p) => (p.taints as string[]).join(',') },
          { header: 'SIZE', value: (p) => `${s(p.minSize)}..${s(p.maxSize)}` },
          { header: 'AUTOSCALE', value: (p) => ((p.autoscale as Obj | undefined)?.enabled ? 'on' : 'off') },
          {
            header: 'AUTOHEAL',
            value: (p) => {
              const a = p.autoheal as Obj | undefined;
              return a ? (a.enabled ? (a.paused ? 'paused' : 'on') : 'off') : '';
            },
            wide: true,
          },
          { header: 'HOOK', value: (p) => s((p.autoheal as Obj | undefined)?.hook), wide: true },
          { header: 'UPDATED', value: (p) => s(p.updatedAt), wide: true },
          { header: 'DESCRIPTION', value: (p) => s(p.description) },
        ],
        r.items,
        c.format,
      );
    });
  pool
    .command('show')
    .description('show a pool with its autoheal settings')
    .argument('<name>', 'pool name')
    .action(async (name: string, _o, cmd: Command) => {
      const c = client(cmd);
      const p = await c.api.call<Obj>('GET', `/v1/pools/${encodeURIComponent(name)}`);
      if (c.structured) return c.print(p);
      showPool(p);
    });
  const poolFields = (cmd: Command): Command => {
    cmd
      .option('--description <text>', 'free text')
      .option('--label <k=v>', 'node label for the pool (repeatable)', collect, [])
      .option('--taint <k=v:Effect>', 'node taint for the pool (repeatable)', collect, []);
    for (const [flag, , , help] of AUTOHEAL_FLAGS) cmd.option(flag, help);
    for (const [flag, , help] of SIZE_FLAGS) cmd.option(flag, help);
    return cmd;
  };
  poolFields(
    pool.command('create').description('create a pool').argument('<name>', 'pool name (lower case, digits, -)'),
  ).action(async (name: string, o: PoolFlags, cmd: Command) => {
    const c = client(cmd);
    const p = await c.api.call<Obj>('POST', '/v1/pools', { name, ...poolBody(o) });
    if (c.structured) c.print(p);
    else process.stdout.write(`pool ${name} created\n`);
  });
  poolFields(pool.command('update').description('change a pool').argument('<name>', 'pool name')).action(
    async (name: string, o: PoolFlags, cmd: Command) => {
      const body = poolBody(o);
      if (Object.keys(body).length === 0)
        throw new CliError(
          'nothing to update: give --description, --label, --taint, a size, an autoheal or autoscale setting (atoll-hub pool update --help)',
          2,
        );
      const c = client(cmd);
      const p = await c.api.call<Obj>('PATCH', `/v1/pools/${encodeURIComponent(name)}`, body);
      if (c.structured) c.print(p);
      else process.stdout.write(`pool ${name} updated\n`);
    },
  );
  pool
    .command('scale')
    .description('set the size of a pool by hand, within its min and max (machines made and removed by its hook)')
    .argument('<name>', 'pool name')
    .requiredOption('--size <n>', 'the number of nodes the pool should have')
    .action(async (name: string, o: { size: string }, cmd: Command) => {
      const size = Number(o.size);
      if (!Number.isInteger(size) || size < 0) throw new CliError('--size must be a whole number', 2);
      const c = client(cmd);
      const r = await c.api.call<Obj>('POST', `/v1/pools/${encodeURIComponent(name)}/scale`, { size });
      if (c.structured) c.print(r);
      else process.stdout.write(`pool ${name} target size ${size}\n`);
    });
  pool
    .command('delete')
    .description('delete a pool (refused while it has nodes or live tokens)')
    .argument('<name>', 'pool name')
    .action(async (name: string, _o, cmd: Command) => {
      const c = client(cmd);
      await c.api.call('DELETE', `/v1/pools/${encodeURIComponent(name)}`);
      if (c.structured) c.print({ name, deleted: true });
      else process.stdout.write(`pool ${name} deleted\n`);
    });
}
