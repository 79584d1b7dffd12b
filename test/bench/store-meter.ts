// What the hub's store does during a stretch of the connect benchmark: health rows written per second
// (node rows updated by health batches plus health samples inserted) and, on a PostgreSQL server the
// bench started itself, the CPU its processes used (postmaster, backends, and the exited ones, from
// /proc). SQLite has no per-table write counters: there a node row per health report is assumed (the
// batcher writes each report's row once) and samples are counted in hub.db, read-only.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { PgServer } from '../helpers/postgres.js';

export interface StoreMark {
  t: number;
  nodeRowUpdates: number | null;
  samples: number;
  pgCpuSeconds: number | null;
}

export interface StoreLoad {
  kind: 'sqlite' | 'postgres';
  /** Node rows written by health batches per second (PostgreSQL: counted; SQLite: reports/s). */
  nodeRowsPerSec: number;
  samplesPerSec: number;
  healthRowsPerSec: number;
  /** All PostgreSQL processes, % of one core (null on SQLite or a server the bench did not start). */
  pgCpuPercentOfCore: number | null;
}

const TICKS = 100;

function statCpu(pid: string, withChildren: boolean): { ppid: number; seconds: number } | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
    // f[0] is field 3 (state): ppid 4, utime 14, stime 15, cutime 16, cstime 17.
    const ticks = Number(f[11]) + Number(f[12]) + (withChildren ? Number(f[13]) + Number(f[14]) : 0);
    return { ppid: Number(f[1]), seconds: ticks / TICKS };
  } catch {
    return undefined; // gone
  }
}

/** CPU seconds of a PostgreSQL server: the postmaster (with its reaped children) and its live children. */
export function postgresCpuSeconds(dataDir: string): number | null {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return null;
  const master = readFileSync(pidFile, 'utf8').split('\n')[0].trim();
  const own = statCpu(master, true);
  if (!own) return null;
  let total = own.seconds;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || entry === master) continue;
    const s = statCpu(entry, false);
    if (s && String(s.ppid) === master) total += s.seconds;
  }
  return total;
}

export class StoreMeter {
  constructor(
    readonly hubDataDir: string,
    readonly pg: { server: PgServer; database: string; ownServer: boolean } | undefined,
  ) {}

  mark(): StoreMark {
    const t = Date.now();
    if (!this.pg) {
      const db = new Database(join(this.hubDataDir, 'hub.db'), { readonly: true, fileMustExist: true });
      try {
        const samples = (db.prepare('SELECT COUNT(*) AS c FROM health_samples').get() as { c: number }).c;
        return { t, nodeRowUpdates: null, samples, pgCpuSeconds: null };
      } finally {
        db.close();
      }
    }
    const { server, database, ownServer } = this.pg;
    const [upd, ins] = server
      .psql(
        `SELECT COALESCE(SUM(n_tup_upd) FILTER (WHERE relname = 'nodes'), 0), COALESCE(SUM(n_tup_ins) FILTER (WHERE relname = 'health_samples'), 0) FROM pg_stat_user_tables`,
        database,
      )
      .trim()
      .split('|')
      .map(Number);
    return {
      t,
      nodeRowUpdates: upd,
      samples: ins,
      pgCpuSeconds: ownServer ? postgresCpuSeconds(join(server.dir, 'data')) : null,
    };
  }

  since(m: StoreMark, reportsPerSec: number): StoreLoad {
    const now = this.mark();
    const secs = Math.max(0.001, (now.t - m.t) / 1000);
    const r1 = (x: number): number => Math.round(x * 10) / 10;
    const nodeRowsPerSec =
      now.nodeRowUpdates !== null && m.nodeRowUpdates !== null
        ? r1((now.nodeRowUpdates - m.nodeRowUpdates) / secs)
        : reportsPerSec;
    const samplesPerSec = r1((now.samples - m.samples) / secs);
    return {
      kind: this.pg ? 'postgres' : 'sqlite',
      nodeRowsPerSec,
      samplesPerSec,
      healthRowsPerSec: r1(nodeRowsPerSec + samplesPerSec),
      pgCpuPercentOfCore:
        now.pgCpuSeconds !== null && m.pgCpuSeconds !== null
          ? r1(((now.pgCpuSeconds - m.pgCpuSeconds) / secs) * 100)
          : null,
    };
  }
}
