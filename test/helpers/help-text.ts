// Reads a commander --help text: which options take a value, and the default each one names. The
// help comes from the sources (tsx), so unit tests need no build.
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');

export interface HelpOption {
  /** The value placeholder (`<dur>`), absent for a switch. */
  arg?: string;
  text: string;
}

/** `node hub/main.ts run --help` and the like, from the sources; throws unless it exits 0. */
export function helpOf(entry: string, args: string[]): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, entry), ...args, '--help'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, COLUMNS: '1000' },
  });
  if (r.status !== 0) throw new Error(`${entry} ${args.join(' ')} --help exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** The options of a help text by long name (without --), descriptions joined across wrapped lines. */
export function helpOptions(help: string): Map<string, HelpOption> {
  const out = new Map<string, HelpOption>();
  let current: HelpOption | undefined;
  for (const line of help.split('\n')) {
    const m = /^ {2}(?:-\w, )?--([a-z0-9-]+)(?: <([^>]+)>)?(?: {2,}(.*))?$/.exec(line);
    if (m) {
      current = { arg: m[2], text: m[3] ?? '' };
      out.set(m[1], current);
    } else if (current && /^ {6,}\S/.test(line)) current.text += ` ${line.trim()}`;
    else current = undefined;
  }
  return out;
}

/** The default a description names: `default 10s` (ours) or `(default: "10s")` (commander's). */
export function shownDefault(text: string): string | undefined {
  return (/\(default: "([^"]*)"\)/.exec(text) ?? /\bdefault ([^\s;,)]+)/.exec(text))?.[1];
}

/** --k3s-https-port -> k3sHttpsPort, as commander names the parsed flag. */
export function flagKey(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}
