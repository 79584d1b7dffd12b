// A real PostgreSQL server for a test: Debian's postgresql package, `initdb` into a temporary folder
// owned by the postgres user (the server refuses to run as root), started with `pg_ctl` on a free
// loopback port and a private socket directory, stopped and removed afterwards (also on failure:
// call stop() in an after hook; it is idempotent). No test talks to a PostgreSQL it did not start.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

export interface PgServer {
  /** postgres://atoll:PASSWORD@127.0.0.1:PORT/atoll */
  url: string;
  port: number;
  dir: string;
  /** A URL for another database on the same server (created on demand with createDatabase); `host`: one of `listen`. */
  urlFor(database: string, host?: string): string;
  createDatabase(name: string): void;
  /** Runs SQL as the superuser through psql; returns stdout. */
  psql(sql: string, database?: string): string;
  /** pg_ctl stop -m fast (the server can be started again with start()). */
  pause(): void;
  start(): void;
  stop(): void;
}

/** The PostgreSQL bin directory of Debian's package, or undefined when it is not installed. */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(root, versions[0], 'bin') : undefined;
}

function run(
  cmd: string,
  args: string[],
  opts: { asPostgres?: boolean; input?: string; allowFail?: boolean } = {},
): string {
  const argv =
    opts.asPostgres && process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--', cmd, ...args] : [cmd, ...args];
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', input: opts.input, timeout: 60_000 });
  if (r.status !== 0 && !opts.allowFail)
    throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

export interface PgOptions {
  /**
   * Addresses to listen on besides 127.0.0.1 (e.g. a test lab's bridge address, for hubs in network
   * namespaces); the default is loopback only.
   */
  listen?: string[];
  /** Networks (CIDR) allowed to log in with a password besides loopback; needed with `listen`. */
  allowFrom?: string[];
}

export async function startPostgres(options: PgOptions = {}): Promise<PgServer> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL is not installed (apt-get install postgresql)');
  const dir = mkdtempSync(join(tmpdir(), 'atoll-pg-'));
  const data = join(dir, 'data');
  const sock = join(dir, 'sock');
  const password = `pw${Math.random().toString(36).slice(2)}`;
  const root = process.getuid?.() === 0;
  if (root) {
    const uid = Number(run('id', ['-u', 'postgres']).trim());
    const gid = Number(run('id', ['-g', 'postgres']).trim());
    chownSync(dir, uid, gid);
  }
  chmodSync(dir, 0o700);
  const pwFile = join(dir, 'pwfile');
  writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
  if (root)
    chownSync(pwFile, Number(run('id', ['-u', 'postgres']).trim()), Number(run('id', ['-g', 'postgres']).trim()));
  run(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwFile}`, '-E', 'UTF8', '--locale=C'],
    { asPostgres: true },
  );
  rmSync(pwFile, { force: true });
  if (options.allowFrom?.length) {
    const hba = options.allowFrom.map((cidr) => `host all all ${cidr} scram-sha-256`).join('\n');
    run('sh', ['-c', `printf '%s\\n' "$1" >> "$2"`, 'sh', hba, join(data, 'pg_hba.conf')], { asPostgres: true });
  }
  run('mkdir', ['-p', sock], { asPostgres: true });
  const port = await freePort();
  const opts = `-c listen_addresses=${['127.0.0.1', ...(options.listen ?? [])].join(',')} -c port=${port} -c unix_socket_directories=${sock} -c fsync=off -c max_connections=200 -c shared_buffers=64MB`;
  let running = false;
  const start = (): void => {
    run(join(bin, 'pg_ctl'), ['-D', data, '-o', opts, '-l', join(data, 'server.log'), '-w', '-t', '60', 'start'], {
      asPostgres: true,
    });
    running = true;
  };
  start();
  const env = { PGPASSWORD: password };
  const psql = (sql: string, database = 'postgres'): string => {
    const r = spawnSync(
      'psql',
      [
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        '-U',
        'postgres',
        '-d',
        database,
        '-v',
        'ON_ERROR_STOP=1',
        '-At',
        '-c',
        sql,
      ],
      { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 },
    );
    if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
    return r.stdout;
  };
  // CREATEDB: a hub's k3s (kine) makes its own database, `<database>_k3s`, when it is missing.
  psql(`CREATE ROLE atoll LOGIN CREATEDB PASSWORD '${password}'`);
  psql('CREATE DATABASE atoll OWNER atoll');
  const urlFor = (database: string, host = '127.0.0.1'): string =>
    `postgres://atoll:${password}@${host}:${port}/${database}`;
  let stopped = false;
  return {
    url: urlFor('atoll'),
    port,
    dir,
    urlFor,
    createDatabase: (name) => void psql(`CREATE DATABASE "${name.replace(/"/g, '')}" OWNER atoll`),
    psql,
    pause() {
      if (!running) return;
      run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop'], { asPostgres: true, allowFail: true });
      running = false;
    },
    start,
    stop() {
      if (stopped) return;
      stopped = true;
      if (running)
        run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'], { asPostgres: true, allowFail: true });
      running = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
