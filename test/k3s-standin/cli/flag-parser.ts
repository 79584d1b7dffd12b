// urfave/cli v1 on top of Go's flag package: -x / --x, -x=v / --x v, bool flags without a value,
// string slices repeatable, env fallbacks. Errors carry Go's wording.
import { parseGoDuration } from '../util/go-duration.js';

export type FlagKind = 'string' | 'bool' | 'int' | 'slice' | 'duration';
export type FlagValue = string | boolean | number | readonly string[];

export interface FlagSpec {
  /** First name is the key in the result; the rest are aliases (e.g. ['write-kubeconfig', 'o']). */
  readonly names: readonly string[];
  readonly kind: FlagKind;
  readonly env?: readonly string[];
  readonly def?: FlagValue;
}

export interface ParsedFlags {
  readonly values: ReadonlyMap<string, FlagValue>;
  /** Flags given on the command line or through their env var. */
  readonly set: ReadonlySet<string>;
  readonly args: readonly string[];
}

export class UsageError extends Error {}

const BOOL_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const BOOL_FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

function convert(spec: FlagSpec, name: string, raw: string): FlagValue {
  const bad = (): UsageError => new UsageError(`invalid value "${raw}" for flag -${name}: parse error`);
  switch (spec.kind) {
    case 'bool':
      if (BOOL_TRUE.has(raw)) return true;
      if (BOOL_FALSE.has(raw)) return false;
      throw bad();
    case 'int':
      if (!/^[+-]?\d+$/.test(raw)) throw bad();
      return Number(raw);
    case 'duration': {
      const ms = parseGoDuration(raw);
      if (ms === undefined) throw bad();
      return ms;
    }
    default:
      return raw;
  }
}

export interface ParseOptions {
  /** Stop at the first positional argument (urfave SkipArgReorder); otherwise flags may follow args. */
  readonly stopAtFirstArg: boolean;
}

export function parseFlags(
  argv: readonly string[],
  specs: readonly FlagSpec[],
  env: NodeJS.ProcessEnv,
  opts: ParseOptions,
): ParsedFlags {
  const byName = new Map<string, FlagSpec>();
  for (const s of specs) for (const n of s.names) byName.set(n, s);
  const values = new Map<string, FlagValue>();
  const set = new Set<string>();
  const args: string[] = [];
  const slices = new Map<string, string[]>();

  const assign = (spec: FlagSpec, name: string, raw: string): void => {
    const key = spec.names[0] as string;
    set.add(key);
    if (spec.kind === 'slice') {
      const list = slices.get(key) ?? [];
      list.push(raw);
      slices.set(key, list);
      values.set(key, list);
    } else {
      values.set(key, convert(spec, name, raw));
    }
  };

  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      if (opts.stopAtFirstArg) {
        args.push(...argv.slice(i));
        break;
      }
      args.push(a);
      continue;
    }
    const body = a.startsWith('--') ? a.slice(2) : a.slice(1);
    if (body === '' || body.startsWith('-') || body.startsWith('=')) throw new UsageError(`bad flag syntax: ${a}`);
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`flag provided but not defined: -${name}`);
    if (spec.kind === 'bool') {
      assign(spec, name, eq >= 0 ? body.slice(eq + 1) : 'true');
      continue;
    }
    if (eq >= 0) {
      assign(spec, name, body.slice(eq + 1));
      continue;
    }
    if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: -${name}`);
    assign(spec, name, argv[++i] as string);
  }

  for (const spec of specs) {
    const key = spec.names[0] as string;
    if (set.has(key)) continue;
    const fromEnv = (spec.env ?? []).map((e) => env[e]).find((v) => v !== undefined && v !== '');
    if (fromEnv !== undefined) {
      if (spec.kind === 'slice') {
        values.set(
          key,
          fromEnv
            .split(',')
            .map((x) => x.trim())
            .filter((x) => x !== ''),
        );
      } else {
        values.set(key, convert(spec, key, fromEnv));
      }
      set.add(key);
    } else if (spec.def !== undefined) {
      values.set(key, spec.def);
    }
  }
  return { values, set, args };
}

export function str(p: ParsedFlags, key: string): string {
  const v = p.values.get(key);
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

export function bool(p: ParsedFlags, key: string): boolean {
  return p.values.get(key) === true;
}

export function num(p: ParsedFlags, key: string): number {
  const v = p.values.get(key);
  return typeof v === 'number' ? v : 0;
}

/** Slice values; with split, also splits comma-separated entries (as k3s does for --tls-san, --disable, IPs). */
export function list(p: ParsedFlags, key: string, split = false): string[] {
  const v = p.values.get(key);
  const arr = Array.isArray(v) ? [...(v as readonly string[])] : typeof v === 'string' && v !== '' ? [v] : [];
  return split
    ? arr
        .flatMap((x) => x.split(','))
        .map((x) => x.trim())
        .filter((x) => x !== '')
    : arr;
}
