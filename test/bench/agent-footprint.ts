// Agent footprint: one real agent (k3s off) connected to a real hub, idle. Prints its RSS and CPU
// over the window. Usage: node --import tsx test/bench/agent-footprint.ts [--seconds 600] [--heartbeat 10s]
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { startHub, startAgentJoin, waitFor, removeDir, ROOT } from '../helpers/processes.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '600' },
    heartbeat: { type: 'string', default: '10s' },
    bundle: { type: 'boolean', default: false },
    'node-options': { type: 'string' },
  },
});

function bundlePath(): string {
  const dir = join(ROOT, 'dist', 'artifacts', 'agent');
  const f = readdirSync(dir, { recursive: true })
    .map(String)
    .find((x) => x.endsWith('.mjs'));
  if (!f) throw new Error(`no agent bundle under ${dir}; run npm run build`);
  return join(dir, f);
}
const seconds = Math.min(3600, Math.max(10, Number(values.seconds)));
const TICKS = 100; // USER_HZ on Linux

function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}

function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
}

const hub = await startHub({ heartbeat: values.heartbeat, unreachableAfter: '60s' });
const tok = await hub.api<{ token: string }>('POST', '/v1/tokens', {});
// --bundle: run the single-file agent the installer ships (dist/artifacts/agent/...), as on a real node.
const agent = startAgentJoin(hub, tok.body.token, {
  bin: values.bundle ? bundlePath() : undefined,
  nodeOptions: values['node-options'],
});
try {
  await waitFor(
    'agent ready',
    async () =>
      (await hub.api<{ items: Array<{ state: string }> }>('GET', '/v1/nodes')).body.items[0]?.state === 'ready',
    30_000,
  );
  await new Promise((r) => setTimeout(r, 5_000)); // settle after start-up
  const pid = agent.proc.child.pid!;
  const startTicks = cpuTicks(pid);
  const start = Date.now();
  const rss: number[] = [];
  while (Date.now() - start < seconds * 1000) {
    rss.push(rssKiB(pid));
    await new Promise((r) => setTimeout(r, 1000));
  }
  const cpuPct = ((cpuTicks(pid) - startTicks) / TICKS / ((Date.now() - start) / 1000)) * 100;
  const result = {
    seconds,
    heartbeat: values.heartbeat,
    cores: availableParallelism(),
    node: process.version,
    rssMiB: { max: Math.max(...rss) / 1024, last: rss.at(-1)! / 1024 },
    cpuPercentOfCore: cpuPct,
  };
  console.log(
    `agent footprint (${values.bundle ? 'bundle' : 'dist'}${values['node-options'] ? `, ${values['node-options']}` : ''}), idle, k3s off, heartbeat ${values.heartbeat}, ${seconds}s, ${result.cores} cores, node ${process.version}`,
  );
  console.log(
    `  RSS: max ${result.rssMiB.max.toFixed(1)} MiB, last ${result.rssMiB.last.toFixed(1)} MiB (goal <= 60 MB)`,
  );
  console.log(`  CPU: ${cpuPct.toFixed(3)} % of one core (goal < 1 %)`);
  console.log(JSON.stringify(result));
} finally {
  await agent.proc.kill('SIGTERM');
  await hub.stop();
  removeDir(agent.dataDir);
  removeDir(hub.dataDir);
}
