// Benchmark: `atoll-hub backup create` and `atoll-hub restore` of a hub with --nodes nodes (each with a
// certificate and --samples health samples) and --events events, by the built CLI; prints the seconds
// of each, the archive size, and checks that the restored hub starts with every node.
//
//   npm run build && node --import tsx test/bench/backup.ts [--nodes 1000] [--events 10000] [--samples 20]
//
// Not part of npm test. Everything it makes is under its own temporary folder, removed before it exits.
import { statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { HUB_BIN, removeDir, runCli, startHub } from '../helpers/processes.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '1000' },
    events: { type: 'string', default: '10000' },
    samples: { type: 'string', default: '20' },
  },
});
const nodes = Number(values.nodes);
const events = Number(values.events);
const samples = Number(values.samples);

// A real hub made the store (CA, keys, settings); the rows go straight into its file once it stopped.
const hub = await startHub();
const work = dirname(hub.dataDir);
try {
  await hub.stop();
  const db = new Database(join(hub.dataDir, 'hub.db'));
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
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  const dbBytes = statSync(join(hub.dataDir, 'hub.db')).size;

  const pass = join(work, 'passphrase');
  writeFileSync(pass, 'benchmark passphrase\n', { mode: 0o600 });
  const archive = join(work, 'bench.atoll-backup');
  let t = Date.now();
  const made = await runCli(HUB_BIN, [
    'backup',
    'create',
    '--data-dir',
    hub.dataDir,
    '--passphrase-file',
    pass,
    '--out',
    archive,
  ]);
  const backupS = (Date.now() - t) / 1000;
  if (made.code !== 0) throw new Error(`backup failed: ${made.stderr}`);
  const target = join(work, 'restored');
  t = Date.now();
  const restored = await runCli(HUB_BIN, ['restore', archive, '--data-dir', target, '--passphrase-file', pass]);
  const restoreS = (Date.now() - t) / 1000;
  if (restored.code !== 0) throw new Error(`restore failed: ${restored.stderr}`);
  const back = await startHub({ dataDir: target });
  const listed = (await back.api<{ items: unknown[] }>('GET', '/v1/nodes')).body.items.length;
  await back.stop();
  if (listed !== nodes) throw new Error(`the restored hub lists ${listed} nodes, not ${nodes}`);
  process.stdout.write(
    `${nodes} nodes (${nodes * samples} health samples), ${events} events; hub.db ${(dbBytes / 1048576).toFixed(1)} MiB\n` +
      `backup create: ${backupS.toFixed(2)} s (CLI process, start to exit); archive ${(statSync(archive).size / 1048576).toFixed(2)} MiB\n` +
      `restore: ${restoreS.toFixed(2)} s (CLI process); the restored hub started and lists all ${listed} nodes\n`,
  );
} finally {
  await hub.stop().catch(() => undefined);
  removeDir(hub.dataDir);
}
