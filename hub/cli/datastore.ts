// atoll-hub datastore check: SQLite integrity_check of <data-dir>/hub.db (read-only, safe beside a
// running hub), its schema version, and whether it belongs to the CA beside it.
// atoll-hub datastore migrate: the schema migrations of the datastore (--datastore) alone.
import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultDataDir } from '../config.js';
import {
  StoreError,
  inspectDatabaseFile,
  latestVersion,
  migratePostgres,
  openSqliteStore,
  parseDatastore,
  redactUrl,
} from '../store/index.js';
import { caPin } from '../../certs/pin.js';
import { CliError, parseOutput, printJson } from './output.js';
import { registerDatastoreCopy } from './datastore-copy.js';

interface Globals {
  dataDir?: string;
  output?: string;
}

export function registerDatastoreCommands(program: Command): void {
  const datastore = program
    .command('datastore')
    .description('the hub database (<data-dir>/hub.db, or PostgreSQL with --datastore)');
  registerDatastoreCopy(datastore);
  datastore
    .command('migrate')
    .description('bring the datastore to the schema of this atoll and exit (a hub also does it at start)')
    .option(
      '--datastore <url>',
      'postgres://USER@HOST:5432/DATABASE, or sqlite (env ATOLL_DATASTORE; default <data-dir>/hub.db)',
    )
    .action(async (o: { datastore?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<Globals>();
      const dataDir = g.dataDir ?? defaultDataDir(process.env, process.getuid?.() === 0);
      try {
        const spec = parseDatastore(o.datastore ?? process.env.ATOLL_DATASTORE, dataDir);
        if (spec.kind === 'sqlite') {
          const store = await openSqliteStore({ path: spec.path });
          await store.close();
          process.stdout.write(`${spec.path}: at schema version ${latestVersion()}\n`);
          return;
        }
        const r = await migratePostgres({ url: spec.url, poolSize: 1 });
        const where = redactUrl(spec.url);
        process.stdout.write(
          r.from === r.to
            ? `${where}: already at schema version ${r.to}\n`
            : `${where}: migrated from schema version ${r.from} to ${r.to}\n`,
        );
      } catch (err) {
        if (err instanceof StoreError) throw new CliError(err.message);
        throw err;
      }
    });
  datastore
    .command('check')
    .description('full SQLite integrity_check of hub.db and its CA binding (exit 1 when damaged)')
    .option('--quick', 'quick_check only (what every start runs)')
    .action((o: { quick?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<Globals>();
      const dataDir = g.dataDir ?? defaultDataDir(process.env, process.getuid?.() === 0);
      const path = join(dataDir, 'hub.db');
      if (!existsSync(path)) throw new CliError(`no hub database at ${path}`);
      const r = inspectDatabaseFile(path, o.quick ? 'quick' : 'full');
      const caFile = join(dataDir, 'ca.crt');
      const caOnDisk = existsSync(caFile) ? caPin(readFileSync(caFile, 'utf8')) : null;
      const ca =
        r.caPin === null
          ? 'not bound yet (bound at the next start)'
          : caOnDisk === null
            ? `bound to ${r.caPin}, but ${caFile} is missing`
            : caOnDisk === r.caPin
              ? 'matches ca.crt'
              : `bound to ${r.caPin}, but ca.crt has pin ${caOnDisk}`;
      const caOk = r.caPin === null || caOnDisk === r.caPin;
      if (parseOutput(g.output) === 'json') {
        printJson({ ...r, ok: r.ok && caOk, caOnDisk, ca });
      } else {
        const size =
          r.pages !== null && r.pageSize !== null
            ? `${r.pages} pages, ${((r.pages * r.pageSize) / 1048576).toFixed(1)} MiB`
            : 'size unknown';
        process.stdout.write(
          `${path}: ${r.ok ? 'ok' : 'DAMAGED'} (${r.check}; ${size}; schema version ${r.schemaVersion ?? 'unknown'})\n`,
        );
        for (const p of r.problems) process.stdout.write(`  ${p}\n`);
        process.stdout.write(`CA: ${ca}\n`);
      }
      if (!r.ok)
        throw new CliError(
          `${path} is damaged: restore it from a backup (with the hub stopped), or start the hub with --reinit-store`,
        );
      if (!caOk) throw new CliError(`${path} does not belong to the CA in ${dataDir}`);
    });
}
