// Helpers for the installer tests: run the served install.sh the way a user does (curl piped into
// sh), look at install roots, make a Node.js runtime artifact from this machine's node, and turn a
// cloud-init runcmd into the script cloud-init would run. Every process here runs to completion
// under a timeout; none outlives its call.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs argv to completion (killed with SIGKILL at the timeout), feeding `input` on stdin. */
export function run(
  argv: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string | Buffer; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => undefined); // sh may stop reading early (syntax errors)
    child.stdin.end(opts.input ?? '');
  });
}

/** Environment for install.sh: this machine's, without any ATOLL_* setting leaking in. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ATOLL_')) env[k] = v;
  return { ...env, ...extra };
}

/** `curl -sSfL --insecure URL/install.sh | sh -s - ARGS`, optionally inside a network namespace. */
export function curlPipeInstall(
  hubUrl: string,
  args: string[],
  opts: { ns?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  const pipeline = [
    'sh',
    '-c',
    'url=$1; shift; curl -sSfL --insecure "$url/install.sh" | sh -s - "$@"',
    'curl-pipe',
    hubUrl,
    ...args,
  ];
  return run(opts.ns ? ['ip', 'netns', 'exec', opts.ns, ...pipeline] : pipeline, {
    env: cleanEnv(opts.env),
    timeoutMs: opts.timeoutMs ?? 90_000,
  });
}

/** Fetches the served install.sh (text). */
export async function fetchInstallScript(hubUrl: string): Promise<string> {
  const r = await run(['curl', '-sSfL', '--insecure', `${hubUrl}/install.sh`], { timeoutMs: 15_000 });
  if (r.code !== 0) throw new Error(`cannot fetch ${hubUrl}/install.sh: ${r.stderr}`);
  return r.stdout;
}

export interface FileState {
  type: 'file' | 'dir' | 'link';
  mode: number;
  size: number;
  mtimeMs: number;
  sha256?: string;
}

/** Every path under root with its type, mode, size, mtime and content hash. */
export function snapshot(root: string, skip: (rel: string) => boolean = () => false): Record<string, FileState> {
  const out: Record<string, FileState> = {};
  if (!existsSync(root)) return out;
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const rel = relative(root, p);
      if (skip(rel)) continue;
      const st = lstatSync(p);
      const type = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'link' : 'file';
      out[rel] = {
        type,
        mode: st.mode & 0o7777,
        size: st.size,
        mtimeMs: type === 'dir' ? 0 : st.mtimeMs,
        sha256: type === 'file' ? createHash('sha256').update(readFileSync(p)).digest('hex') : undefined,
      };
      if (type === 'dir') walk(p);
    }
  };
  walk(root);
  return out;
}

/** Files (not directories) under root, relative. */
export function filesUnder(root: string): string[] {
  return Object.entries(snapshot(root))
    .filter(([, s]) => s.type !== 'dir')
    .map(([p]) => p);
}

/** A PATH directory with every command of this machine except `without` (and with `extra` scripts). */
export function shimPath(
  without: string[],
  extra: Record<string, string> = {},
): { dir: string; path: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'atoll-shim-'));
  chmodSync(dir, 0o755); // usable by the unprivileged user of the not-root test
  for (const d of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    if (!existsSync(d)) continue;
    for (const name of readdirSync(d)) {
      if (without.includes(name) || name in extra || existsSync(join(dir, name))) continue;
      try {
        symlinkSync(join(d, name), join(dir, name));
      } catch {
        // a name twice (merged /usr): the first wins
      }
    }
  }
  for (const [name, body] of Object.entries(extra)) {
    spawnSync('sh', ['-c', 'printf "%s" "$1" >"$2" && chmod 0755 "$2"', 'w', body, join(dir, name)]);
  }
  return { dir, path: dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Puts this machine's node into <hubDataDir>/artifacts/node/<version>/amd64/node.tgz (npm layout:
 * package/bin/node), the place an operator's runtimes go. Returns its version.
 */
export function makeNodeRuntime(hubDataDir: string): string {
  const version = process.versions.node;
  const dir = join(hubDataDir, 'artifacts', 'node', version, 'amd64');
  mkdirSync(dir, { recursive: true });
  const stage = mkdtempSync(join(tmpdir(), 'atoll-runtime-'));
  try {
    mkdirSync(join(stage, 'package', 'bin'), { recursive: true });
    const r = spawnSync(
      'sh',
      [
        '-c',
        'cp "$1" "$2/package/bin/node" && tar -C "$2" -cf - package | gzip -1 >"$3"',
        'mk',
        process.execPath,
        stage,
        join(dir, 'node.tgz'),
      ],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`cannot make the runtime artifact: ${r.stderr}`);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  return version;
}

/** What cloud-init writes for runcmd (cloudinit.util.shellify): list items quoted, strings as they are. */
export function shellify(runcmd: Array<string | string[]>): string {
  const quote = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;
  return (
    '#!/bin/sh\n' +
    runcmd.map((c) => (Array.isArray(c) ? c.map((a) => quote(String(a))).join(' ') : c)).join('\n') +
    '\n'
  );
}

/** Debian's python3 with cloud-init's own modules, when installed. */
export const CLOUD_INIT_PYTHON =
  existsSync('/usr/lib/python3/dist-packages/cloudinit') && existsSync('/usr/bin/python3')
    ? '/usr/bin/python3'
    : undefined;

/** Parses YAML with python3's yaml (cloud-init's parser); undefined when that is not installed. */
export function parseYaml(text: string): unknown {
  if (!CLOUD_INIT_PYTHON) return undefined;
  const r = spawnSync(
    CLOUD_INIT_PYTHON,
    ['-c', 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'],
    { input: text, encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`YAML does not parse: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** The runcmd of a hub's #cloud-config document: with python3-yaml when installed, else line by line (the one shape the hub writes). */
export function runcmdOf(doc: string): Array<string | string[]> {
  const parsed = parseYaml(doc) as { runcmd: Array<string | string[]> } | undefined;
  if (parsed) return parsed.runcmd;
  const out: Array<string | string[]> = [];
  for (const line of doc.split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /^ {2}- - (".*")$/.exec(line))) out.push([JSON.parse(m[1]) as string]);
    else if ((m = /^ {4}- (".*")$/.exec(line))) (out[out.length - 1] as string[]).push(JSON.parse(m[1]) as string);
    else if ((m = /^ {2}- (".*")$/.exec(line))) out.push(JSON.parse(m[1]) as string);
  }
  return out;
}

/** Watches every process's command line until stop(): the ones that held `needle`. */
export function watchCommandLines(needle: string, everyMs = 20): { stop(): string[] } {
  const seen = new Set<string>();
  const timer = setInterval(() => {
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8');
        if (cmd.includes(needle)) seen.add(cmd.split('\0').slice(0, 3).join(' ').slice(0, 120));
      } catch {
        // gone
      }
    }
  }, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      return [...seen];
    },
  };
}

/** The runcmd script as cloud-init itself renders it (its util.shellify), else our copy of it. */
export function cloudInitRuncmdScript(runcmd: Array<string | string[]>): string {
  if (!CLOUD_INIT_PYTHON) return shellify(runcmd);
  const r = spawnSync(
    CLOUD_INIT_PYTHON,
    ['-c', 'import json, sys; from cloudinit import util; sys.stdout.write(util.shellify(json.load(sys.stdin)))'],
    { input: JSON.stringify(runcmd), encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`cloud-init shellify failed: ${r.stderr}`);
  return r.stdout;
}

export function commandExists(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** KEY=value lines as systemd's EnvironmentFile= reads them (comments and blanks skipped, quotes removed). */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m || line.trim().startsWith('#')) continue;
    env[m[1]] = m[2].replace(/^'(.*)'$|^"(.*)"$/, '$1$2');
  }
  return env;
}

export interface UnitProc {
  pid: number;
  stderr(): string;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts a service the way its systemd unit would: the EnvironmentFile's variables, then ExecStart.
 * Without a unit (--no-service installs), give the env file and the command line instead.
 */
export function startAsUnit(
  spec: { unitFile: string } | { envFile: string; execStart: string[] },
  opts: { ns?: string } = {},
): UnitProc {
  let envFile: string | undefined;
  let argv: string[];
  if ('unitFile' in spec) {
    const unit = readFileSync(spec.unitFile, 'utf8');
    envFile = /^EnvironmentFile=-?(\S+)$/m.exec(unit)?.[1];
    const exec = /^ExecStart=(.+)$/m.exec(unit)?.[1];
    if (!exec) throw new Error(`${spec.unitFile} has no ExecStart`);
    argv = exec.trim().split(/\s+/);
  } else {
    envFile = spec.envFile;
    argv = spec.execStart;
  }
  const env = {
    ...cleanEnv({
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      ATOLL_AGENT_RECONNECT_MAX_MS: '2000',
    }),
    ...(envFile && existsSync(envFile) ? parseEnvFile(readFileSync(envFile, 'utf8')) : {}),
  };
  const full = opts.ns ? ['ip', 'netns', 'exec', opts.ns, ...argv] : argv;
  const child = spawn(full[0], full.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'], cwd: '/' });
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-20_000);
  });
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  return {
    pid: child.pid ?? -1,
    stderr: () => err,
    exited,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
