// Named hub contexts for a remote CLI, like kubectl's: URL, token (a file or inline) and CA per
// name, and the current one. Stored 0600 in $XDG_CONFIG_HOME/atoll/contexts.json (default
// ~/.config/atoll/contexts.json).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeSecretFile } from '../../certs/files.js';
import { CliError } from './output.js';

export interface HubContext {
  url: string;
  /** A file holding the token (read at each use), or the token itself. */
  tokenFile?: string;
  token?: string;
  /** The hub CA certificate (PEM file). */
  ca?: string;
}

export interface ContextsFile {
  current: string | null;
  contexts: Record<string, HubContext>;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const MAX_CONTEXTS = 100;

export function contextsPath(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'atoll', 'contexts.json');
}

export function checkContextName(name: string): string {
  if (!NAME_RE.test(name))
    throw new CliError(`context name "${name}" must be letters, digits, '.', '_' or '-' (at most 63)`, 2);
  return name;
}

export function readContexts(path: string): ContextsFile {
  if (!existsSync(path)) return { current: null, contexts: {} };
  const mode = statSync(path).mode;
  if ((mode & 0o077) !== 0)
    throw new CliError(`${path} holds tokens but others can read it; fix it with: chmod 600 ${path}`);
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new CliError(`${path} is not valid JSON (${(err as Error).message}); fix or remove it`);
  }
  const d = data as Partial<ContextsFile>;
  if (typeof d !== 'object' || d === null || typeof d.contexts !== 'object' || d.contexts === null)
    throw new CliError(`${path} has no "contexts" object; fix or remove it`);
  return { current: typeof d.current === 'string' ? d.current : null, contexts: d.contexts };
}

export function writeContexts(path: string, data: ContextsFile): void {
  if (Object.keys(data.contexts).length > MAX_CONTEXTS) throw new CliError(`at most ${MAX_CONTEXTS} contexts`);
  writeSecretFile(path, JSON.stringify(data, null, 2) + '\n');
}

export function getContext(file: ContextsFile, name: string, path: string): HubContext {
  const c = Object.hasOwn(file.contexts, name) ? file.contexts[name] : undefined;
  if (!c) throw new CliError(`no context "${name}" in ${path} (atoll-hub context list)`);
  return c;
}
