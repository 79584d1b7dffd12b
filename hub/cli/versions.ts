// atoll-hub versions show | import FILE | reset: the Kubernetes version support data the hub uses
// (bundled with atoll; an import updates it without a new release). The file is checked here first
// (every problem listed, exit 2, nothing sent); the hub checks it again and stores it with an audit event.
import type { Command } from 'commander';
import { readFileSync, statSync } from 'node:fs';
import { client, type Session } from './session.js';
import { CliError, printTable } from './output.js';
import { parseSupportDocument, SupportDataError } from '../versions/support-data.js';

type Obj = Record<string, unknown>;
const s = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
/** A support document is a few KiB; refuse anything that could not be one before reading it. */
const MAX_FILE_BYTES = 256 * 1024;

function show(c: Session, v: Obj): void {
  if (c.structured) return c.print(v);
  const imported = v.imported as Obj | null;
  process.stdout.write(
    imported
      ? `imported by ${s(imported.importedBy)} at ${s(imported.importedAt)} (${s(imported.minors)} minors${imported.source ? ` from ${s(imported.source)}` : ''}), over the bundled data\n`
      : `bundled data (${s(v.bundledSource)})\n`,
  );
  printTable(
    ['MINOR', 'RELEASED', 'END OF MAINTENANCE', 'END OF LIFE', 'STATUS', 'DAYS LEFT'],
    ((v.minors ?? []) as Obj[]).map((m) => [
      s(m.minor),
      s(m.released),
      s(m.endOfMaintenance),
      s(m.endOfLife),
      s(m.status),
      s(m.daysLeft),
    ]),
  );
}

/** The file as a checked document; a clear error (exit 2) for anything wrong with it. */
export function readSupportFile(file: string): unknown {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 2);
  }
  if (size > MAX_FILE_BYTES) throw new CliError(`${file} is ${size} bytes: a support document is at most 256 KiB`, 2);
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError(`${file} is not JSON: ${(err as Error).message}`, 2);
  }
  try {
    parseSupportDocument(doc);
  } catch (err) {
    if (err instanceof SupportDataError)
      throw new CliError(
        `${file}: ${err.problems.length} problem(s), nothing imported:\n  ${err.problems.join('\n  ')}`,
        2,
      );
    throw err;
  }
  return doc;
}

export function registerVersionCommands(program: Command): void {
  const versions = program
    .command('versions')
    .description("Kubernetes version support data: each minor's release, end of maintenance and end of life");
  versions
    .command('show')
    .description('show the support data in force, each minor with its status today')
    .action(async (_o, cmd: Command) => {
      const c = client(cmd);
      show(c, await c.api.call<Obj>('GET', '/v1/versions/support'));
    });
  versions
    .command('import')
    .description(
      'import support data from a JSON file ({"source", "minors": [{"minor": "1.31", "released", "endOfMaintenance", "endOfLife"}]}); it overrides the bundled data minor by minor',
    )
    .argument('<file>', 'the JSON document')
    .action(async (file: string, _o, cmd: Command) => {
      const doc = readSupportFile(file);
      const c = client(cmd);
      show(c, await c.api.call<Obj>('PUT', '/v1/versions/support', doc));
    });
  versions
    .command('reset')
    .description('drop the imported data: the data bundled with this atoll applies again')
    .action(async (_o, cmd: Command) => {
      const c = client(cmd);
      show(c, await c.api.call<Obj>('DELETE', '/v1/versions/support'));
    });
}
