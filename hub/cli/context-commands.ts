// atoll-hub context add|use|list|show|remove: named hubs for a remote CLI (like kubectl contexts).
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  checkContextName,
  contextsPath,
  getContext,
  readContexts,
  writeContexts,
  type HubContext,
} from './contexts.js';
import { CliError, isStructured, printDocument, printRows } from './output.js';
import { outputFormat } from './session.js';

const MAX_TOKEN = 4096;

function readable(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliError(
      `cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      2,
    );
  }
}

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.length > MAX_TOKEN) throw new CliError(`the token on stdin is over ${MAX_TOKEN} bytes`, 2);
  }
  return text.trim();
}

/** What `context list` and `show` tell: never a token, only where it comes from. */
function describe(name: string, c: HubContext, current: string | null): Record<string, unknown> {
  return {
    name,
    current: name === current,
    url: c.url,
    token: c.tokenFile ? `file ${c.tokenFile}` : c.token ? 'stored (0600)' : 'none',
    ca: c.ca ?? null,
  };
}

export function registerContextCommands(program: Command): void {
  const ctx = program
    .command('context')
    .description(
      'named hubs for a remote CLI: add, use, list, show, remove (stored 0600 in $XDG_CONFIG_HOME/atoll/contexts.json, default ~/.config/atoll)',
    );
  ctx
    .command('add')
    .description('add or replace a context: the hub API URL, its admin or API token, its CA')
    .argument('<name>', 'context name')
    .requiredOption('--url <url>', 'the hub API, e.g. https://hub.example.com:9443')
    .option('--token-file <file>', 'a file holding the token (read at each use)')
    .option('--token-stdin', 'read the token from stdin and store it (0600)')
    .option('--ca <file>', "the hub CA certificate (the hub's <data-dir>/ca.crt)")
    .option('--use', 'make it the current context')
    .action(
      async (
        name: string,
        o: { url: string; tokenFile?: string; tokenStdin?: boolean; ca?: string; use?: boolean },
        cmd: Command,
      ) => {
        checkContextName(name);
        // The program's own --ca takes the flag wherever it stands on the line.
        const ca = o.ca ?? cmd.optsWithGlobals<{ ca?: string }>().ca;
        let url: URL;
        try {
          url = new URL(o.url);
        } catch {
          throw new CliError(`--url "${o.url}" is not a URL`, 2);
        }
        if (url.protocol !== 'https:') throw new CliError('--url must be https:// (the hub API is HTTPS only)', 2);
        if (Boolean(o.tokenFile) === Boolean(o.tokenStdin))
          throw new CliError('give exactly one of --token-file FILE or --token-stdin', 2);
        const entry: HubContext = { url: url.origin };
        if (o.tokenFile) {
          entry.tokenFile = resolve(o.tokenFile);
          if (!readable(entry.tokenFile, 'the token file').trim())
            throw new CliError(`the token file ${entry.tokenFile} is empty`, 2);
        } else {
          entry.token = await readStdin();
          if (!entry.token) throw new CliError('no token on stdin', 2);
        }
        if (ca) {
          entry.ca = resolve(ca);
          if (!readable(entry.ca, 'the CA file').includes('-----BEGIN CERTIFICATE-----'))
            throw new CliError(`${entry.ca} is not a PEM certificate`, 2);
        }
        const path = contextsPath(process.env);
        const file = readContexts(path);
        file.contexts[name] = entry;
        if (o.use || !file.current) file.current = name;
        writeContexts(path, file);
        process.stdout.write(`context ${name} saved in ${path}${file.current === name ? ' (current)' : ''}\n`);
      },
    );
  ctx
    .command('use')
    .description('make a context the current one (used when no --context, ATOLL_API_URL or --data-dir is given)')
    .argument('<name>', 'context name')
    .action((name: string) => {
      const path = contextsPath(process.env);
      const file = readContexts(path);
      getContext(file, name, path);
      file.current = name;
      writeContexts(path, file);
      process.stdout.write(`current context: ${name}\n`);
    });
  ctx
    .command('list')
    .description('list the contexts (the current one marked *)')
    .action((_o, cmd: Command) => {
      const file = readContexts(contextsPath(process.env));
      const rows = Object.entries(file.contexts).map(([n, c]) => describe(n, c, file.current));
      const format = outputFormat(cmd);
      if (isStructured(format)) return printDocument({ current: file.current, items: rows }, format);
      printRows(
        [
          { header: 'CURRENT', value: (r) => (r.current ? '*' : '') },
          { header: 'NAME', value: (r) => String(r.name) },
          { header: 'URL', value: (r) => String(r.url) },
          { header: 'TOKEN', value: (r) => String(r.token) },
          { header: 'CA', value: (r) => (r.ca ? String(r.ca) : 'system trust') },
        ],
        rows,
        format,
      );
    });
  ctx
    .command('show')
    .description('show a context (default: the current one); never the token')
    .argument('[name]', 'context name')
    .action((name: string | undefined, _o, cmd: Command) => {
      const path = contextsPath(process.env);
      const file = readContexts(path);
      const n = name ?? file.current;
      if (!n) throw new CliError('no current context (atoll-hub context use NAME)');
      const d = describe(n, getContext(file, n, path), file.current);
      const format = outputFormat(cmd);
      if (isStructured(format)) return printDocument(d, format);
      for (const [k, v] of Object.entries(d))
        process.stdout.write(`${`${k}:`.padEnd(9)} ${v === null ? '-' : String(v)}\n`);
    });
  ctx
    .command('remove')
    .description('remove a context')
    .argument('<name>', 'context name')
    .action((name: string) => {
      const path = contextsPath(process.env);
      const file = readContexts(path);
      getContext(file, name, path);
      delete file.contexts[name];
      if (file.current === name) file.current = null;
      writeContexts(path, file);
      process.stdout.write(`context ${name} removed\n`);
    });
}
