// Settings outside the pools: autoheal for the cluster and per node, and the auto-upgrade policy.
import type { Command } from 'commander';
import { client, type Session } from './session.js';
import { CliError } from './output.js';
import { parseBool } from './pools.js';

type Obj = Record<string, unknown>;
const s = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

function switchBody(o: { enabled?: string; paused?: string }): Obj {
  const body: Obj = {};
  if (o.enabled !== undefined) body.enabled = parseBool(o.enabled, '--enabled');
  if (o.paused !== undefined) body.paused = parseBool(o.paused, '--paused');
  if (Object.keys(body).length === 0) throw new CliError('nothing to change: give --enabled and/or --paused', 2);
  return body;
}

const onOff = (a: Obj): string => `${a.enabled ? 'on' : 'off'}${a.paused ? ', paused' : ''}`;

function showPolicy(p: Obj): void {
  const w = (p.window ?? {}) as Obj;
  const r = (p.rollout ?? {}) as Obj;
  process.stdout.write(`auto-upgrade: ${p.enabled ? 'on' : 'off'}, scope ${s(p.scope)}\n`);
  process.stdout.write(
    `window:       ${s(w.day)} ${s(w.startHour)}:00 for ${s(w.durationHours)}h (${s(w.timeZone)}), ${p.windowOpen ? 'open now' : 'closed now'}\n`,
  );
  const d = (v: unknown, fallback: string): string => (v === undefined || v === null ? `${fallback} (default)` : s(v));
  process.stdout.write(
    `rollouts:     ${d(r.maxUnavailable, '1')} at a time, dwell ${d(r.dwell, '2m')}, verify timeout ${d(r.verifyTimeout, '10m')}, drain timeout ${d(r.drainTimeout, '30m')}\n`,
  );
}

export function registerSettingsCommands(program: Command): void {
  const autoheal = program
    .command('autoheal')
    .description(
      'autoheal for the whole cluster: show, set (pools: atoll-hub pool update; nodes: atoll-hub node autoheal)',
    );
  autoheal
    .command('show')
    .description('show the cluster autoheal switch and the partition guard')
    .action(async (_o, cmd: Command) => {
      const c = client(cmd);
      const a = (await c.api.call<Obj>('GET', '/v1/cluster')).autoheal as Obj;
      if (c.structured) return c.print(a);
      const guard = (a.guard ?? {}) as Obj;
      process.stdout.write(
        `autoheal: ${onOff(a)}; partition guard: ${guard.frozen ? `frozen (${s(guard.reason)})` : 'not frozen'}\n`,
      );
    });
  autoheal
    .command('set')
    .description('turn autoheal on or off, or pause it, for the whole cluster')
    .option('--enabled <bool>', 'true or false')
    .option('--paused <bool>', 'true or false')
    .action(async (o: { enabled?: string; paused?: string }, cmd: Command) => {
      const body = switchBody(o);
      const c = client(cmd);
      const a = await c.api.call<Obj>('PUT', '/v1/cluster/autoheal', body);
      if (c.structured) return c.print(a);
      process.stdout.write(`cluster autoheal: ${onOff(a)}\n`);
    });

  const upgrade = program.commands.find((x) => x.name() === 'upgrade');
  if (!upgrade) throw new CliError('register the upgrade commands first');
  const policy = upgrade.command('policy').description('the auto-upgrade policy: show, set');
  policy
    .command('show')
    .description('show the auto-upgrade policy and whether its window is open')
    .action(async (_o, cmd: Command) => {
      const c = client(cmd);
      const p = await c.api.call<Obj>('GET', '/v1/cluster/auto-upgrade');
      if (c.structured) return c.print(p);
      showPolicy(p);
    });
  policy
    .command('set')
    .description('change the auto-upgrade policy (only the settings given)')
    .option('--enabled <bool>', 'upgrade automatically in the window (true or false)')
    .option('--scope <scope>', 'patch or minor')
    .option('--day <day>', 'window day: any (every day), mon, tue, wed, thu, fri, sat or sun')
    .option('--start-hour <h>', 'window start, 0-23')
    .option('--duration-hours <h>', 'window length in hours')
    .option('--time-zone <tz>', 'window time zone, e.g. Europe/Paris')
    .option('--max-unavailable <n>', 'nodes upgraded at a time by automatic rollouts')
    .option('--dwell <dur>', 'how long a node must stay Ready on the new version')
    .option('--verify-timeout <dur>', 'limit for verify')
    .option('--drain-timeout <dur>', 'drain timeout per node')
    .action(async (o: Record<string, string | undefined>, cmd: Command) => {
      const num = (flag: string, v: string | undefined): number | undefined => {
        if (v === undefined) return undefined;
        const n = Number(v);
        if (!Number.isFinite(n)) throw new CliError(`${flag} must be a number`, 2);
        return n;
      };
      const drop = (x: Obj): Obj | undefined => {
        const out = Object.fromEntries(Object.entries(x).filter(([, v]) => v !== undefined));
        return Object.keys(out).length ? out : undefined;
      };
      const body = drop({
        enabled: o.enabled === undefined ? undefined : parseBool(o.enabled, '--enabled'),
        scope: o.scope,
        window: drop({
          day: o.day,
          startHour: num('--start-hour', o.startHour),
          durationHours: num('--duration-hours', o.durationHours),
          timeZone: o.timeZone,
        }),
        rollout: drop({
          maxUnavailable: num('--max-unavailable', o.maxUnavailable),
          dwell: o.dwell,
          verifyTimeout: o.verifyTimeout,
          drainTimeout: o.drainTimeout,
        }),
      });
      if (!body) throw new CliError('nothing to change (atoll-hub upgrade policy set --help)', 2);
      const c = client(cmd);
      const p = await c.api.call<Obj>('PUT', '/v1/cluster/auto-upgrade', body);
      if (c.structured) return c.print(p);
      showPolicy(p);
    });
}

/** atoll-hub node autoheal NODE --enabled B --paused B (registered with the node commands). */
export function registerNodeAutoheal(node: Command, resolveNode: (c: Session, ref: string) => Promise<string>): void {
  node
    .command('autoheal')
    .description('turn autoheal on or off, or pause it, for one node')
    .argument('<node>', 'node id or name')
    .option('--enabled <bool>', 'true or false')
    .option('--paused <bool>', 'true or false')
    .action(async (ref: string, o: { enabled?: string; paused?: string }, cmd: Command) => {
      const body = switchBody(o);
      const c = client(cmd);
      const id = await resolveNode(c, ref);
      const n = await c.api.call<Obj>('PATCH', `/v1/nodes/${encodeURIComponent(id)}`, { autoheal: body });
      if (c.structured) return c.print(n);
      process.stdout.write(`node ${s(n.name)} (${id}) autoheal: ${onOff(n.autohealSwitch as Obj)}\n`);
    });
}
