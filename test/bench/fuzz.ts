// Longer fuzz passes than npm test runs: the frame decoder in process, and POST /v1/join on a real hub.
//   node --import tsx test/bench/fuzz.ts --cases 100000 --seed 7 [--join-cases 5000] [--target decoder|join|all]
// Prints the cases tried and every crash found (a crash is a bug: fix it and add a regression test).
import { parseArgs } from 'node:util';
import { startHub, removeDir } from '../helpers/processes.js';
import { createToken, keyAndCsr, stopProc } from '../helpers/bad-input.js';
import { fuzzDecoder, fuzzJoin, type Crash } from '../helpers/fuzz.js';

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '20000' },
    'join-cases': { type: 'string' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    target: { type: 'string', default: 'all' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  process.stdout.write(
    'usage: node --import tsx test/bench/fuzz.ts [--cases N] [--join-cases N] [--seed S] [--target decoder|join|all]\n',
  );
  process.exit(0);
}
const cases = Number(values.cases);
const joinCases = Number(values['join-cases'] ?? Math.max(100, Math.floor(cases / 10)));
const seed = Number(values.seed);
const crashes: Crash[] = [];
const report: Record<string, unknown> = { seed };

if (values.target === 'all' || values.target === 'decoder') {
  const t0 = Date.now();
  const d = fuzzDecoder(seed, cases);
  crashes.push(...d.crashes);
  report.decoder = { tried: d.tried, crashes: d.crashes.length, seconds: (Date.now() - t0) / 1000 };
  process.stdout.write(
    `decoder: ${d.tried} cases, ${d.crashes.length} crashes, ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
  );
}
if (values.target === 'all' || values.target === 'join') {
  const hub = await startHub({ extraArgs: ['--join-rate-limit', '100000000'] });
  try {
    const tok = await createToken(hub, { reusable: true });
    const k = await keyAndCsr('fuzz-join');
    const t0 = Date.now();
    const j = await fuzzJoin(
      { gatewayUrl: hub.gatewayUrl, caPem: hub.caPem() },
      { token: tok.token, csr: k.csr, name: 'fuzz-join' },
      {
        seed: seed + 2,
        cases: joinCases,
        concurrency: 8,
        onCase: (i) => {
          if (i % 1000 === 999) process.stdout.write(`  join: ${i + 1} cases\n`);
        },
      },
    );
    crashes.push(...j.crashes);
    const alive = hub.proc.child.exitCode === null && (await hub.api('GET', '/healthz')).status === 200;
    report.join = {
      tried: j.tried,
      created: j.created,
      crashes: j.crashes.length,
      hubAlive: alive,
      seconds: (Date.now() - t0) / 1000,
    };
    process.stdout.write(
      `join: ${j.tried} cases (${j.created} still valid joins), ${j.crashes.length} crashes, hub alive: ${alive}, ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
    );
    if (!alive)
      crashes.push({
        target: 'join',
        caseNo: -1,
        kind: 'hub',
        what: `the hub died: ${hub.proc.stderr().slice(-1000)}`,
        input: '',
      });
  } finally {
    await stopProc(hub.proc, 3_000);
    removeDir(hub.dataDir);
  }
}
for (const c of crashes.slice(0, 20))
  process.stdout.write(`CRASH ${c.target} #${c.caseNo} (${c.kind}): ${c.what}\n  input: ${c.input.slice(0, 300)}\n`);
process.stdout.write(`${JSON.stringify({ ...report, crashes: crashes.length })}\n`);
process.exit(crashes.length ? 1 : 0);
