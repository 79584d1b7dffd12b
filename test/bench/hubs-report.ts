// The figures of the several-hubs benchmark (hubs.ts) and the table it prints: per hub and overall.
import type { Load } from './hub-meter.js';
import type { Summary } from './stats.js';

export interface HubFigures {
  id: string;
  url: string;
  /** Agents welcomed by this hub when the round trips were sampled. */
  agents: number;
  /** After the joins, before the connects. */
  rssStartKiB: number;
  rssAfterKiB: number;
  /** (RSS after the round-trip window - RSS before the connects) / agents, both after a full GC. */
  rssPerAgentKiB: number;
  rttMs: Summary;
  loopDelayMs: { p50: number; p99: number; max: number } | null;
  steady: Load;
}

export interface HubsFigures {
  n: number;
  hubs: number;
  heartbeatMs: number;
  cores: number;
  node: string;
  loadavgAtStart: number[];
  workers: number;
  prepare: { keysGenerated: number; keysLoaded: number; joined: number; joinWallMs: number; failed: number };
  connect: { welcomed: number; wallMs: number; timedOut: boolean; handshakeMs: Summary };
  perHub: HubFigures[];
  rtt: { windowMs: number; ms: Summary; pingsSent: number; unanswered: number };
  steady: {
    reportsPerSec: number;
    healthRowsPerSec: number;
    pgCpuPercentOfCore: number | null;
  };
  simulatorRssKiB: number;
  failover: {
    killed: string;
    agents: number;
    boundMs: number;
    welcomedElsewhere: number;
    /** Agents of the killed hub not welcomed by another hub within the bound. */
    notMoved: number;
    msAfterKill: Summary;
    landedOn: Record<string, number>;
    survivors: Load[];
    pgCpuPercentOfCore: number | null;
    /** What the surviving hubs' API says once the move is over: agents per live hub. */
    apiAgents: Record<string, number>;
    errors: Record<string, number>;
  };
}

const ms = (s: Summary): string => `p50 ${s.p50}, p99 ${s.p99}, max ${s.max} ms (${s.count})`;

/** A Markdown table of the figures, one column per hub and one for all of them. */
export function figuresTable(f: HubsFigures): string {
  const head = ['figure', ...f.perHub.map((h) => `${h.id} (${h.url})`), 'all hubs'];
  const rows: string[][] = [];
  const row = (name: string, per: (h: HubFigures) => string, all: string): void =>
    void rows.push([name, ...f.perHub.map(per), all]);
  const totalRss = f.perHub.reduce((a, h) => a + (h.rssAfterKiB - h.rssStartKiB), 0);
  row('agents', (h) => String(h.agents), `${f.connect.welcomed} / ${f.n}`);
  row('heartbeat round trip', (h) => ms(h.rttMs), ms(f.rtt.ms));
  row(
    'hub event-loop delay',
    (h) => (h.loopDelayMs ? `p99 ${h.loopDelayMs.p99}, max ${h.loopDelayMs.max} ms` : 'n/a'),
    '',
  );
  row(
    'hub RSS after a GC: before the connects -> after',
    (h) => `${mib(h.rssStartKiB)} -> ${mib(h.rssAfterKiB)}`,
    `${(totalRss / 1024).toFixed(1)} MiB more`,
  );
  row(
    '**hub RSS per agent**',
    (h) => `${h.rssPerAgentKiB} KiB`,
    `${round1(totalRss / Math.max(1, f.connect.welcomed))} KiB`,
  );
  row('hub CPU, steady', (h) => `${h.steady.hubCpuPercentOfCore} % of a core`, '');
  row(
    'PostgreSQL CPU, steady',
    () => '',
    `${f.steady.pgCpuPercentOfCore ?? 'n/a'} % of a core (${f.steady.healthRowsPerSec} health rows/s at ${f.steady.reportsPerSec} reports/s)`,
  );
  const fo = f.failover;
  rows.push([
    `**kill -9 of ${fo.killed}: its agents welcomed elsewhere**`,
    ...f.perHub.map((h) =>
      h.id === fo.killed
        ? `${fo.agents} agents`
        : `${fo.landedOn[h.url] ?? 0} arrived, API shows ${fo.apiAgents[h.id] ?? '?'}`,
    ),
    `${fo.welcomedElsewhere} / ${fo.agents} in ${ms(fo.msAfterKill)}; **${fo.notMoved} not within ${fo.boundMs / 1000} s**`,
  ]);
  rows.push([
    'during the move',
    ...f.perHub.map((h) => {
      const i = f.perHub.filter((x) => x.id !== fo.killed).indexOf(h);
      return i < 0 ? '' : `hub CPU ${fo.survivors[i].hubCpuPercentOfCore} % of a core`;
    }),
    `PostgreSQL CPU ${fo.pgCpuPercentOfCore ?? 'n/a'} % of a core`,
  ]);
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

export function conditions(f: HubsFigures): string {
  return (
    `atoll several-hubs benchmark: N=${f.n} on ${f.hubs} hubs, one PostgreSQL; heartbeat ${f.heartbeatMs / 1000}s; ` +
    `${f.cores} cores, node ${f.node}; ${f.workers} simulator process(es), RSS ${mib(f.simulatorRssKiB)}; ` +
    `load average at start ${f.loadavgAtStart.join(' / ')}\n` +
    `identities: keys ${f.prepare.keysGenerated} made + ${f.prepare.keysLoaded} cached; ${f.prepare.joined} joins in ${f.prepare.joinWallMs} ms` +
    `${f.prepare.failed ? `; ${f.prepare.failed} FAILED` : ''}\n` +
    `connect: ${f.connect.welcomed}/${f.n} welcomed in ${f.connect.wallMs} ms${f.connect.timedOut ? ' (TIMED OUT)' : ''}; per connection ${ms(f.connect.handshakeMs)}\n` +
    `round trips: window ${f.rtt.windowMs / 1000}s, ${f.rtt.pingsSent} pings, ${f.rtt.unanswered} unanswered` +
    `${Object.keys(f.failover.errors).length ? `\nagent-side errors during the move: ${JSON.stringify(f.failover.errors)}` : ''}`
  );
}

function mib(kib: number): string {
  return `${(kib / 1024).toFixed(1)} MiB`;
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
