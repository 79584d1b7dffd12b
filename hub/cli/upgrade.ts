// atoll-hub upgrade start|status|cancel: rolling k3s upgrades through the dashboard API.
import type { Command } from 'commander';
import { Writable } from 'node:stream';
import { client } from './session.js';
import { printTable, CliError } from './output.js';
interface NodeRow {
  id: string;
  name: string;
  pool: string;
  from: string;
  phase: string;
  startedAt: string | null;
  finishedAt: string | null;
  message: string;
}
interface ControlPlaneRow {
  from: string;
  phase: string;
  startedAt: string | null;
  finishedAt: string | null;
  message: string;
}
interface RolloutView {
  id: string;
  kind?: string;
  version: string;
  state: string;
  message: string;
  window: string;
  createdAt: string;
  controlPlane?: ControlPlaneRow | null;
  nodes: NodeRow[];
}

function elapsed(n: { startedAt: string | null; finishedAt: string | null }, now: number): string {
  if (!n.startedAt) return '';
  const ms = (n.finishedAt ? Date.parse(n.finishedAt) : now) - Date.parse(n.startedAt);
  const s = Math.max(0, Math.round(ms / 1000));
  return s >= 60 ? `${Math.floor(s / 60)}m${s % 60}s` : `${s}s`;
}

function render(r: RolloutView, now = Date.now()): string {
  const cp = r.controlPlane
    ? [
        [
          '(control plane)',
          '-',
          r.controlPlane.from,
          r.controlPlane.phase,
          elapsed(r.controlPlane, now),
          r.controlPlane.message,
        ],
      ]
    : [];
  const table = new StringSink();
  printTable(
    ['NODE', 'POOL', 'FROM', 'PHASE', 'ELAPSED', 'MESSAGE'],
    [...cp, ...r.nodes.map((n) => [n.name, n.pool, n.from, n.phase, elapsed(n, now), n.message])],
    table,
  );
  return `rollout ${r.id}: ${r.kind === 'agent' ? 'agent' : 'k3s'} ${r.version}, ${r.state} (${r.message})\n${table.text}`;
}

function show(r: RolloutView): void {
  process.stdout.write(render(r));
}

/** What changed between two views, without the ticking elapsed times. */
function progressKey(r: RolloutView): string {
  return JSON.stringify([
    r.state,
    r.message,
    r.controlPlane?.phase,
    r.controlPlane?.message,
    r.nodes.map((n) => [n.id, n.phase, n.message]),
  ]);
}

class StringSink extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: () => void): void {
    this.text += String(chunk);
    done();
  }
}

/** What both kinds of rollout take from the command line: version, pools, batch size, window. */
function target(o: { version: string; pool: string[]; now?: boolean; maxUnavailable: string }): {
  version: string;
  pools?: string[];
  maxUnavailable: number;
  window: 'now' | 'next';
} {
  const maxUnavailable = Number(o.maxUnavailable);
  if (!Number.isInteger(maxUnavailable) || maxUnavailable < 1)
    throw new CliError('--max-unavailable must be a positive integer', 2);
  return {
    version: o.version,
    ...(o.pool.length ? { pools: o.pool } : {}),
    maxUnavailable,
    window: o.now ? 'now' : 'next',
  };
}

const ACTIVE = new Set(['waiting-window', 'running', 'paused']);

export function registerUpgradeCommands(program: Command): void {
  const upgrade = program.command('upgrade').description('rolling k3s upgrades of the pools: start, status, cancel');
  upgrade
    .command('start')
    .description('start a rolling upgrade (refused with reasons when unsafe)')
    .requiredOption('--version <version>', 'k3s version, e.g. v1.31.5+k3s1 (an imported artifact)')
    .option('--pool <pool>', 'only this pool (repeatable)', (v: string, p: string[]) => [...p, v], [] as string[])
    .option('--now', 'start at once instead of in the next maintenance window')
    .option('--max-unavailable <n>', 'nodes upgraded at a time', '1')
    .option('--drain-timeout <duration>', 'drain timeout per node', '30m')
    .option('--force', 'delete pods without a controller when draining')
    .option('--dwell <duration>', 'how long a node must stay Ready on the new version', '2m')
    .option('--verify-timeout <duration>', 'limit for verify', '10m')
    .option('--skip-control-plane', "leave the hub's own k3s server as it is (a minor upgrade is then refused)")
    .option('--data-dir <dir>', 'hub data dir (to find the running hub)')
    .action(
      async (
        o: {
          version: string;
          pool: string[];
          now?: boolean;
          maxUnavailable: string;
          drainTimeout: string;
          force?: boolean;
          dwell: string;
          verifyTimeout: string;
          skipControlPlane?: boolean;
        },
        cmd: Command,
      ) => {
        const { api, structured: json, print: printJson } = client(cmd);
        const r = await api.call<RolloutView>('POST', '/v1/upgrades', {
          ...target(o),
          drain: { timeout: o.drainTimeout, force: Boolean(o.force) },
          dwell: o.dwell,
          verifyTimeout: o.verifyTimeout,
          ...(o.skipControlPlane ? { controlPlane: false } : {}),
        });
        if (json) return printJson(r);
        show(r);
      },
    );
  const agentUpgrade = program
    .command('agent-upgrade')
    .description('agents upgrade themselves to a bundle the hub serves (atoll-hub artifact import agent ...)');
  agentUpgrade
    .command('start')
    .description('start an agent self-upgrade rollout (progress: atoll-hub upgrade status --watch)')
    .requiredOption('--version <version>', "agent version, e.g. 0.2.0 (the package's own or an imported bundle)")
    .option('--pool <pool>', 'only this pool (repeatable)', (v: string, p: string[]) => [...p, v], [] as string[])
    .option('--now', 'start at once instead of in the next maintenance window')
    .option('--max-unavailable <n>', 'agents upgraded at a time', '1')
    .option('--confirm-timeout <duration>', 'how long a restarted agent has to reach the hub before it goes back', '2m')
    .option('--data-dir <dir>', 'hub data dir (to find the running hub)')
    .action(
      async (
        o: { version: string; pool: string[]; now?: boolean; maxUnavailable: string; confirmTimeout: string },
        cmd: Command,
      ) => {
        const { api, structured: json, print: printJson } = client(cmd);
        const r = await api.call<RolloutView>('POST', '/v1/agent-upgrades', {
          ...target(o),
          confirmTimeout: o.confirmTimeout,
        });
        if (json) return printJson(r);
        show(r);
      },
    );

  upgrade
    .command('status')
    .description('show rollouts; with an id or --watch, per node phase and elapsed time')
    .argument('[id]', 'rollout id (default: the newest)')
    .option('--watch', 'refresh until the rollout is no longer active')
    .option('--interval <seconds>', 'refresh interval for --watch', '2')
    .option('--data-dir <dir>', 'hub data dir (to find the running hub)')
    .action(async (id: string | undefined, o: { watch?: boolean; interval: string }, cmd: Command) => {
      const intervalS = Number(o.interval);
      if (!Number.isFinite(intervalS) || intervalS < 0.2 || intervalS > 3600)
        throw new CliError('--interval must be a number of seconds from 0.2 to 3600', 2);
      const { api, structured: json, print: printJson } = client(cmd);
      const fetchOne = async (): Promise<RolloutView | undefined> => {
        if (id) return api.call<RolloutView>('GET', `/v1/upgrades/${encodeURIComponent(id)}`);
        return (await api.call<{ items: RolloutView[] }>('GET', '/v1/upgrades')).items[0];
      };
      if (!o.watch && !id) {
        const all = await api.call<{ items: RolloutView[] }>('GET', '/v1/upgrades');
        if (json) return printJson(all);
        printTable(
          ['ID', 'VERSION', 'STATE', 'NODES', 'CREATED', 'MESSAGE'],
          all.items.map((r) => [
            r.id,
            r.version,
            r.state,
            `${r.nodes.filter((n) => n.phase === 'done' || n.phase === 'skipped').length}/${r.nodes.length}`,
            r.createdAt,
            r.message,
          ]),
        );
        return;
      }
      // --watch on a terminal redraws in place; into a file or pipe it appends a view when it changed.
      const tty = Boolean(o.watch && process.stdout.isTTY);
      let lastKey: string | undefined;
      for (;;) {
        const r = await fetchOne();
        if (!r) throw new CliError('no rollouts yet', 1);
        const key = progressKey(r);
        if (json) {
          if (key !== lastKey) printJson(r);
        } else if (tty) {
          process.stdout.write(
            `\x1b[H\x1b[2J${new Date().toISOString()}  every ${intervalS}s, Ctrl-C to stop\n\n${render(r)}`,
          );
        } else if (key !== lastKey) {
          if (lastKey !== undefined) process.stdout.write(`\n--- ${new Date().toISOString()}\n`);
          show(r);
        }
        lastKey = key;
        if (!o.watch || !ACTIVE.has(r.state)) return;
        await new Promise((res) => setTimeout(res, intervalS * 1000));
      }
    });
  upgrade
    .command('cancel')
    .description('stop an active rollout before its next node')
    .argument('<id>', 'rollout id (from upgrade status)')
    .option('--data-dir <dir>', 'hub data dir (to find the running hub)')
    .action(async (id: string, _o, cmd: Command) => {
      const { api, structured: json, print: printJson } = client(cmd);
      const r = await api.call<RolloutView>('POST', `/v1/upgrades/${encodeURIComponent(id)}/cancel`);
      if (json) return printJson(r);
      process.stdout.write(`rollout ${id}: cancel requested\n`);
    });
}
