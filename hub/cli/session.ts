// What every admin command starts from: the API client for the hub the flags and env name, and
// the output format.
import type { Command } from 'commander';
import { createApiClient, resolveClientSettings, type ApiClient, type ClientSettings } from './api-client.js';
import { isStructured, parseOutput, printDocument, type OutputFormat } from './output.js';
import { defaultDataDir } from '../config.js';

export interface Globals {
  dataDir?: string;
  output?: string;
  context?: string;
  ca?: string;
}

export interface Session {
  api: ApiClient;
  settings: ClientSettings;
  format: OutputFormat;
  /** -o json or -o yaml: print the API's document. */
  structured: boolean;
  /** Prints a document in the -o format (json when the format is a table one). */
  print(value: unknown): void;
  /** The settings read again (a restarted hub may have a new URL in hub.json); the last good ones when that fails. */
  refresh(): ClientSettings;
}

export function outputFormat(cmd: Command): OutputFormat {
  return parseOutput(cmd.optsWithGlobals<Globals>().output);
}

export function dataDirOf(cmd: Command): string {
  return cmd.optsWithGlobals<Globals>().dataDir ?? defaultDataDir(process.env, process.getuid?.() === 0);
}

export function client(cmd: Command): Session {
  const g = cmd.optsWithGlobals<Globals>();
  const format = parseOutput(g.output);
  const resolve = (): ClientSettings =>
    resolveClientSettings(
      {
        dataDir: g.dataDir ?? process.env.ATOLL_DATA_DIR,
        defaultDataDir: defaultDataDir(process.env, process.getuid?.() === 0),
        context: g.context,
        ca: g.ca,
      },
      process.env,
    );
  let settings = resolve();
  return {
    api: createApiClient(settings),
    settings,
    format,
    structured: isStructured(format),
    print: (value) => printDocument(value, format === 'yaml' ? 'yaml' : 'json'),
    refresh() {
      try {
        settings = resolve();
      } catch {
        // e.g. hub.json is gone while the hub restarts: keep what worked
      }
      return settings;
    },
  };
}
