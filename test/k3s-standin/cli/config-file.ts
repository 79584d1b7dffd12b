// k3s configfilearg: /etc/rancher/k3s/config.yaml (or --config / K3S_CONFIG_FILE) plus config.yaml.d/*.yaml
// become command-line flags placed before the real ones, so the command line wins for scalars.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { FlagSpec } from './flag-parser.js';
import { isYamlMap, parseYaml, type YamlValue } from '../util/yaml-lite.js';
import type { Logger } from '../util/log.js';

const DEFAULT_CONFIG = '/etc/rancher/k3s/config.yaml';

/** Finds --config/-c on the raw command line (before full parsing), else env, else default. */
export function findConfigPath(argv: readonly string[], env: NodeJS.ProcessEnv): { path: string; explicit: boolean } {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    for (const f of ['--config', '-config', '-c', '--c']) {
      if (a === f && i + 1 < argv.length) return { path: argv[i + 1] as string, explicit: true };
      if (a.startsWith(`${f}=`)) return { path: a.slice(f.length + 1), explicit: true };
    }
  }
  if (env.K3S_CONFIG_FILE) return { path: env.K3S_CONFIG_FILE, explicit: true };
  return { path: DEFAULT_CONFIG, explicit: false };
}

function valueArgs(key: string, v: YamlValue): string[] {
  if (Array.isArray(v)) return v.map((x) => `--${key}=${x === null ? '' : String(x)}`);
  if (v === null) return [];
  if (typeof v === 'object') return [`--${key}=${JSON.stringify(v)}`];
  return [`--${key}=${v}`];
}

/** Reads the config files and returns the equivalent flags; throws when an explicit file is missing. */
export function configFileArgs(path: string, explicit: boolean, specs: readonly FlagSpec[], log: Logger): string[] {
  if (!existsSync(path)) {
    if (explicit) throw new Error(`open ${path}: no such file or directory`);
    return [];
  }
  const files = [path];
  const dropIn = join(dirname(path), `${basename(path)}.d`);
  if (existsSync(dropIn)) {
    for (const f of readdirSync(dropIn).sort()) if (/\.ya?ml$/.test(f)) files.push(join(dropIn, f));
  }
  const known = new Set(specs.flatMap((sp) => sp.names));
  const out: string[] = [];
  for (const file of files) {
    const doc = parseYaml(readFileSync(file, 'utf8'));
    if (doc === null) continue;
    if (!isYamlMap(doc)) throw new Error(`failed to parse ${file}: not a mapping`);
    for (const [rawKey, v] of Object.entries(doc)) {
      const key = rawKey.endsWith('+') ? rawKey.slice(0, -1) : rawKey;
      if (!known.has(key)) {
        log.warn(`Unknown flag --${key} found in config.yaml, skipping`);
        continue;
      }
      if (key === 'config' || key === 'c') continue;
      out.push(...valueArgs(key, v));
    }
  }
  return out;
}
