// atoll-hub datastore check: SQLite integrity_check of <data-dir>/hub.db (read-only, safe beside a
// running hub), its schema version, and whether it belongs to the CA beside it.
import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultDataDir } from '../config.js';
import { inspectDatabaseFile } from '../store/index.js';
import { caPin } from '../../certs/pin.js';
import { CliError, parseOutput, printJson } from './output.js';

interface Globals {
  dataDir?: string;
  output?: string;
}

export function registerDatastoreCommands(program: Command): void {
  const datastore = program.command('datastore').description('the hub database (<data-dir>/hub.db)');
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
