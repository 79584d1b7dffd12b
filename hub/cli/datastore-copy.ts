// atoll-hub datastore copy --from URL --to URL: a stopped hub's state from one store into an empty
// other (hub/store/copy/). Prints rows per table; a URL is shown without its password.
import type { Command } from 'commander';
import { StoreError, redactUrl } from '../store/index.js';
import { copyStore, parseCopyEnd } from '../store/copy/index.js';
import { AtollError } from '../../certs/atoll-error.js';
import { CliError, parseOutput, printJson } from './output.js';

const shown = (text: string, side: 'from' | 'to'): string => {
  const end = parseCopyEnd(text, side);
  return end.kind === 'sqlite' ? end.path : redactUrl(end.url);
};

export function registerDatastoreCopy(datastore: Command): void {
  datastore
    .command('copy')
    .description(
      "copy a stopped hub's state into an empty datastore (sqlite:PATH or postgres://...), e.g. to move to PostgreSQL",
    )
    .requiredOption('--from <url>', 'the source: sqlite:PATH, a path (hub.db or its data dir), or postgres://...')
    .requiredOption('--to <url>', 'the target, migrated first and refused unless empty: sqlite:PATH or postgres://...')
    .action(async (o: { from: string; to: string }, cmd: Command) => {
      const json = parseOutput(cmd.optsWithGlobals<{ output?: string }>().output) === 'json';
      try {
        const from = shown(o.from, 'from');
        const to = shown(o.to, 'to');
        if (!json) process.stdout.write(`copying ${from} to ${to}\n`);
        const width = 18;
        const report = await copyStore(o.from, o.to, {
          onTable: json ? undefined : (t, n) => process.stdout.write(`  ${t.padEnd(width)} ${n} rows\n`),
        });
        const total = report.tables.reduce((s, t) => s + t.rows, 0);
        if (json) printJson({ from, to, ...report, rows: total });
        else
          process.stdout.write(
            `copied ${total} rows in ${(report.ms / 1000).toFixed(1)} s (the store.copied event is id ${report.lastEventId}); ` +
              (to.startsWith('/')
                ? `start the hub on the data dir of ${to}, with the source's cluster-secret file (it opens the CA)\n`
                : `start the hub with the same data dir (its cluster-secret file opens the CA) and --datastore ${to}\n`),
          );
      } catch (err) {
        if (err instanceof StoreError || err instanceof AtollError) throw new CliError(err.message);
        throw err;
      }
    });
}
