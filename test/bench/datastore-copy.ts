// Benchmark: `atoll-hub datastore copy` of a large SQLite hub database into a fresh PostgreSQL (a real
// server from test/helpers/postgres.ts): --nodes nodes with --samples health samples each and --events
// events, copied by the built CLI; prints rows, seconds and rows/s.
//
//   npm run build && node --import tsx test/bench/datastore-copy.ts [--nodes 10000] [--events 200000] [--samples 20]
//
// Not part of npm test. Everything it makes (the database file, the PostgreSQL server) is in its own
// temporary folders, removed before it exits.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../hub/store/index.js';
import { HUB_BIN, removeTree, startProcess } from '../helpers/processes.js';
import { startPostgres } from '../helpers/postgres.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '10000' },
    events: { type: 'string', default: '200000' },
    samples: { type: 'string', default: '20' },
  },
});
const nodes = Number(values.nodes);
const events = Number(values.events);
const samples = Number(values.samples);

const dir = mkdtempSync(join(tmpdir(), 'atoll-copy-bench-'));
const server = await startPostgres();
try {
  const path = join(dir, 'data', 'hub.db');
  await (await openSqliteStore({ path })).close();
  const db = new Database(path);
  const at = new Date().toISOString();
  const facts = JSON.stringify({ os: 'linux', arch: 'amd64', cpus: 4, memoryBytes: 8e9, hostname: 'x'.repeat(20) });
  db.transaction(() => {
    db.prepare(
      `INSERT INTO tokens (id, secret_hash, pool, created_at, expires_at, created_by) VALUES ('t', 'h', 'default', ?, ?, 'admin')`,
    ).run(at, at);
    const n = db.prepare(
      `INSERT INTO nodes (id, name, pool, state, facts, agent_version, token_id, created_at) VALUES (?, ?, 'default', 'ready', ?, '0.1.0', 't', ?)`,
    );
    const c = db.prepare(
      `INSERT INTO certs (serial, node_id, not_before, not_after, fingerprint) VALUES (?, ?, ?, ?, ?)`,
    );
    const h = db.prepare(`INSERT INTO health_samples (node_id, at, cpu_pm, memory_pm, disk_pm) VALUES (?, ?, 1, 2, 3)`);
    for (let i = 0; i < nodes; i++) {
      n.run(`n${i}`, `node-${i}`, facts, at);
      c.run(`s${i}`, `n${i}`, at, at, 'f'.repeat(64));
      for (let k = 0; k < samples; k++) h.run(`n${i}`, 1_700_000_000_000 + k * 30_000);
    }
    const e = db.prepare(
      `INSERT INTO events (at, type, node_id, actor, message, data) VALUES (?, 'node.health', ?, 'hub', ?, '{}')`,
    );
    for (let i = 0; i < events; i++) e.run(at, `n${i % Math.max(1, nodes)}`, `event ${i} of the benchmark`);
  })();
  db.close();
  server.createDatabase('bench');
  const started = Date.now();
  // GNU time, where there is one, gives the copy's peak RSS (bounded by the batches, not the rows).
  const prefix = existsSync('/usr/bin/time') ? ['/usr/bin/time', '-f', 'peak RSS %M KiB'] : [];
  const p = startProcess(HUB_BIN, ['datastore', 'copy', '--from', path, '--to', server.urlFor('bench')], {}, prefix);
  const code = await p.exited;
  const r = { code, stdout: p.stdout(), stderr: p.stderr() };
  const s = (Date.now() - started) / 1000;
  if (r.code !== 0) throw new Error(`copy failed: ${r.stderr}`);
  const rows = Number(/copied (\d+) rows/.exec(r.stdout)?.[1]);
  process.stdout.write(r.stdout);
  process.stdout.write(
    `${rows} rows (${nodes} nodes, ${nodes * samples} health samples, ${events} events) in ${s.toFixed(1)} s: ` +
      `${Math.round(rows / s)} rows/s; ${/peak RSS \d+ KiB/.exec(r.stderr)?.[0] ?? ''}\n`,
  );
} finally {
  server.stop();
  removeTree(dir);
}
