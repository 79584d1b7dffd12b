// Agent configuration, parsed once from flags and environment. The ATOLL_AGENT_*_MS, _REBOOT_COMMAND and
// _KUBELET_HEALTHZ_URL variables are for tests: README.md, "Test-only environment variables", lists them.
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { AgentError } from './errors.js';

export interface AgentConfig {
  readonly dataDir: string;
  readonly hubUrl?: string;
  readonly token?: string;
  readonly pool?: string;
  readonly nodeName?: string;
  readonly labels: Readonly<Record<string, string>>;
  /** undefined: not given; `run` then uses what `join` stored. */
  readonly k3s?: 'auto' | 'off';
  readonly logLevel: string;
  /** Cap of the reconnect backoff. */
  readonly reconnectMaxMs: number;
  /** What `reboot` runs. */
  readonly rebootCommand: string[];
  /** Kubelet health endpoint to probe (AGENT_DEFAULTS.kubeletHealthzUrl unless set). */
  readonly kubeletHealthzUrl: string;
  readonly k3sStartGraceMs: number;
}

export interface AgentFlags {
  dataDir?: string;
  hub?: string;
  token?: string;
  /** A file holding the join token (keeps it off the command line). */
  tokenFile?: string;
  pool?: string;
  nodeName?: string;
  label?: string[];
  k3s?: string;
  logLevel?: string;
}

/**
 * The agent's defaults: parseAgentConfig applies them when neither a flag nor its env variable is
 * given, and `atoll-agent join|run --help` shows those of the flags (agent/main.ts).
 */
export const AGENT_DEFAULTS = Object.freeze({
  dataDirAsRoot: '/var/lib/atoll-agent',
  dataDir: './.atoll-agent',
  logLevel: 'info',
  /** Env only (ATOLL_AGENT_*). */
  reconnectMaxMs: 30_000,
  rebootCommand: 'systemctl reboot',
  kubeletHealthzUrl: 'http://127.0.0.1:10248/healthz',
  k3sStartGraceMs: 60_000,
});
const D = AGENT_DEFAULTS;

export function defaultAgentDataDir(env: NodeJS.ProcessEnv, isRoot: boolean): string {
  return env.ATOLL_AGENT_DATA_DIR ?? (isRoot ? D.dataDirAsRoot : resolve(D.dataDir));
}

/** A join token is one line of ~110 characters; a file much bigger is not a token file. */
const TOKEN_FILE_MAX_BYTES = 4096;

/** The join token in `path`: its first non-empty line, trimmed. */
export function readTokenFile(path: string): string {
  const unreadable = (why: string, options?: ErrorOptions): AgentError =>
    new AgentError('USAGE', `cannot read the token file ${path}: ${why}`, options);
  let text: string;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw unreadable('not a regular file');
    if (st.size > TOKEN_FILE_MAX_BYTES) throw unreadable(`${st.size} bytes is too large for a join token file`);
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof AgentError) throw err;
    throw unreadable((err as NodeJS.ErrnoException).code ?? (err as Error).message, { cause: err });
  }
  const token = text
    .split('\n')
    .map((l) => l.trim())
    .find(Boolean);
  if (!token) throw new AgentError('USAGE', `the token file ${path} is empty`);
  return token;
}

/** --token, --token-file, ATOLL_TOKEN, ATOLL_TOKEN_FILE: the first given (flags over environment). */
function joinToken(flags: AgentFlags, env: NodeJS.ProcessEnv): string | undefined {
  if (flags.token !== undefined && flags.tokenFile !== undefined)
    throw new AgentError('USAGE', 'give --token or --token-file, not both');
  if (flags.token !== undefined) return flags.token;
  if (flags.tokenFile !== undefined) return readTokenFile(flags.tokenFile);
  if (env.ATOLL_TOKEN) return env.ATOLL_TOKEN;
  if (env.ATOLL_TOKEN_FILE) return readTokenFile(env.ATOLL_TOKEN_FILE);
  return undefined;
}

export function parseAgentConfig(flags: AgentFlags, env: NodeJS.ProcessEnv, isRoot: boolean): AgentConfig {
  const labels: Record<string, string> = {};
  for (const l of flags.label ?? []) {
    const i = l.indexOf('=');
    if (i <= 0) throw new AgentError('USAGE', `--label must be key=value, got "${l}"`);
    labels[l.slice(0, i)] = l.slice(i + 1);
  }
  const k3s = flags.k3s ?? env.ATOLL_AGENT_K3S;
  if (k3s !== undefined && k3s !== 'auto' && k3s !== 'off')
    throw new AgentError('USAGE', `--k3s must be auto or off, not "${k3s}"`);
  const hubUrl = flags.hub ?? env.ATOLL_HUB_URL;
  if (hubUrl !== undefined) {
    let u: URL;
    try {
      u = new URL(hubUrl);
    } catch {
      throw new AgentError('USAGE', `--hub "${hubUrl}" is not a URL`);
    }
    if (u.protocol !== 'https:') throw new AgentError('USAGE', `--hub must be https:// (got ${hubUrl})`);
  }
  const reconnectMaxMs = Number(env.ATOLL_AGENT_RECONNECT_MAX_MS ?? D.reconnectMaxMs);
  return Object.freeze({
    dataDir: resolve(flags.dataDir ?? defaultAgentDataDir(env, isRoot)),
    hubUrl: hubUrl ? new URL(hubUrl).origin : undefined,
    token: joinToken(flags, env),
    pool: flags.pool ?? env.ATOLL_POOL,
    nodeName: flags.nodeName ?? env.ATOLL_NODE_NAME,
    labels: Object.freeze(labels),
    k3s,
    logLevel: flags.logLevel ?? env.ATOLL_LOG_LEVEL ?? D.logLevel,
    reconnectMaxMs: Number.isFinite(reconnectMaxMs) && reconnectMaxMs >= 100 ? reconnectMaxMs : D.reconnectMaxMs,
    rebootCommand: (env.ATOLL_AGENT_REBOOT_COMMAND ?? D.rebootCommand).split(/\s+/).filter(Boolean),
    kubeletHealthzUrl: env.ATOLL_AGENT_KUBELET_HEALTHZ_URL ?? D.kubeletHealthzUrl,
    k3sStartGraceMs: Number(env.ATOLL_AGENT_K3S_START_GRACE_MS ?? D.k3sStartGraceMs),
  });
}
