// Dispatches the k3s command line to server, agent, token and kubectl; returns the exit code.
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseFlags, UsageError, type FlagSpec, type ParsedFlags } from './flag-parser.js';
import { AGENT_FLAGS, ETCD_SNAPSHOT_FLAGS, SERVER_FLAGS, TOKEN_FLAGS } from './flag-specs.js';
import { etcdSnapshot, ETCD_SNAPSHOT_SUBCOMMANDS } from './etcd-snapshot.js';
import { configFileArgs, findConfigPath } from './config-file.js';
import { createLogger, type Logger, type Writable } from '../util/log.js';
import type { BuildInfo } from '../version.js';
import { serverConfig } from '../server/server-config.js';
import { runServer } from '../server/run-server.js';
import { agentConfig } from '../agent/agent-config.js';
import { runAgent } from '../agent/run-agent.js';
import { tokenCreate, tokenDelete, tokenGenerate, tokenList } from '../token/token-commands.js';

export interface Io {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly env: NodeJS.ProcessEnv;
  /** Aborted on SIGTERM/SIGINT. */
  readonly signal: AbortSignal;
}

const USAGE: Readonly<Record<string, string>> = {
  server: 'k3s server - Run management server\n\nUSAGE:\n   k3s server [OPTIONS]\n',
  agent: 'k3s agent - Run node agent\n\nUSAGE:\n   k3s agent [OPTIONS]\n',
  token:
    'k3s token - Manage tokens\n\nUSAGE:\n   k3s token command [command options] [arguments...]\n\nCOMMANDS:\n   create    Create bootstrap tokens on the server\n   delete    Delete bootstrap tokens on the server\n   generate  Generate and print a bootstrap token, but do not create it on the server\n   list      List bootstrap tokens on the server\n   rotate    Rotate original server token with a new server token\n',
  'etcd-snapshot':
    'k3s etcd-snapshot - Manage etcd snapshots\n\nUSAGE:\n   k3s etcd-snapshot command [command options] [arguments...]\n\nCOMMANDS:\n   delete       Delete given snapshot(s)\n   ls, list, l  List snapshots\n   prune        Remove snapshots that match the name prefix that exceed the configured retention count\n   save         Trigger an immediate etcd snapshot\n',
};

function help(build: BuildInfo): string {
  return `NAME:\n   k3s - Kubernetes, but small and simple\n\nUSAGE:\n   k3s [global options] command [command options] [arguments...]\n\nVERSION:\n   ${build.version} (${build.commit})\n\nCOMMANDS:\n   server   Run management server\n   agent    Run node agent\n   kubectl  Run kubectl\n   token    Manage tokens\n   etcd-snapshot  Manage etcd snapshots\n\nGLOBAL OPTIONS:\n   --debug                     (logging) Turn on debug logs [$K3S_DEBUG]\n   --data-dir value, -d value  (data) Folder to hold state\n   --help, -h                  show help\n   --version, -v               print the version\n`;
}

function parseOrUsage(
  cmd: string,
  argv: readonly string[],
  specs: readonly FlagSpec[],
  io: Io,
  log: Logger,
  stopAtFirstArg: boolean,
): ParsedFlags | undefined {
  try {
    return parseFlags(argv, specs, io.env, { stopAtFirstArg });
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stdout.write(
      `Incorrect Usage: ${e.message}\n\nNAME:\n   ${USAGE[cmd.split(' ')[0] as string] ?? `k3s ${cmd}\n`}\n`,
    );
    log.fatal(e.message);
    return undefined;
  }
}

/** ATOLL_STANDIN_LOG_DIR: also append every log line to <dir>/k3s-<command>-<pid>.log (debugging aid). */
function logSink(io: Io, cmd: string): Writable {
  const dir = io.env.ATOLL_STANDIN_LOG_DIR;
  if (!dir) return io.stderr;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `k3s-${cmd}-${process.pid}.log`);
  return {
    write: (chunk: string) => {
      appendFileSync(file, chunk);
      return io.stderr.write(chunk);
    },
  };
}

function withConfigFile(argv: readonly string[], specs: readonly FlagSpec[], io: Io, log: Logger): string[] {
  const { path, explicit } = findConfigPath(argv, io.env);
  return [...configFileArgs(path, explicit, specs, log), ...argv];
}

async function kubectl(args: readonly string[], io: Io): Promise<number> {
  const env = { ...io.env };
  if (!env.KUBECONFIG && existsSync('/etc/rancher/k3s/k3s.yaml')) env.KUBECONFIG = '/etc/rancher/k3s/k3s.yaml';
  return new Promise((resolve) => {
    const child = spawn('kubectl', [...args], { stdio: 'inherit', env });
    child.on('error', () => resolve(1));
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

export async function runCommand(argv: readonly string[], build: BuildInfo, io: Io): Promise<number> {
  const rest = [...argv];
  let debug = false;
  while (rest[0]?.startsWith('-')) {
    const f = rest.shift() as string;
    if (f === '--version' || f === '-v') {
      io.stdout.write(`k3s version ${build.version} (${build.commit})\ngo version ${build.goVersion}\n`);
      return 0;
    }
    if (f === '--help' || f === '-h') {
      io.stdout.write(help(build));
      return 0;
    }
    if (f === '--debug') debug = true;
    else if (f === '--data-dir' || f === '-d') rest.shift();
    else if (!f.startsWith('--data-dir=')) {
      io.stdout.write(
        `Incorrect Usage. flag provided but not defined: -${f.replace(/^-+/, '').split('=')[0] ?? ''}\n\n${help(build)}`,
      );
      createLogger(io.stderr).fatal(`flag provided but not defined: -${f.replace(/^-+/, '').split('=')[0] ?? ''}`);
      return 1;
    }
  }
  const log = createLogger(io.stderr, { debug: debug || io.env.K3S_DEBUG === 'true' });
  const cmd = rest.shift();
  if (cmd === undefined || cmd === 'help') {
    io.stdout.write(help(build));
    return 0;
  }
  try {
    switch (cmd) {
      case 'server':
      case 'agent': {
        if (build.broken) {
          log.fatal(`k3s ${cmd}: this stand-in was built with --broken and refuses to start`);
          return 1;
        }
        const specs = cmd === 'server' ? SERVER_FLAGS : AGENT_FLAGS;
        const merged = withConfigFile(rest, specs, io, log);
        const p = parseOrUsage(cmd, merged, specs, io, log, false);
        if (!p) return 1;
        const cmdLog = createLogger(logSink(io, cmd), { debug: debug || p.values.get('debug') === true });
        if (cmd === 'server') return await runServer(serverConfig(p), build, cmdLog, io.env, io.signal);
        return await runAgent(agentConfig(p, merged, io.env), build, cmdLog, io.env, io.signal);
      }
      case 'token': {
        const sub = rest.shift();
        const specs = sub ? TOKEN_FLAGS[sub] : undefined;
        if (!sub || !specs) {
          io.stdout.write(USAGE.token as string);
          if (sub) log.fatal(`No help topic for '${sub}'`);
          return sub ? 1 : 0;
        }
        const p = parseOrUsage(`token ${sub}`, rest, specs, io, log, true);
        if (!p) return 1;
        if (sub === 'create') await tokenCreate(p, io.stdout);
        else if (sub === 'list') await tokenList(p, io.stdout);
        else if (sub === 'delete') await tokenDelete(p, io.stdout);
        else if (sub === 'generate') tokenGenerate(io.stdout);
        else throw new Error('token rotate is not implemented by the k3s stand-in');
        return 0;
      }
      case 'etcd-snapshot': {
        const p = parseOrUsage(cmd, rest, ETCD_SNAPSHOT_FLAGS, io, log, false);
        if (!p) return 1;
        const sub = p.args[0];
        if (!sub || !ETCD_SNAPSHOT_SUBCOMMANDS.includes(sub)) {
          io.stdout.write(USAGE['etcd-snapshot'] as string);
          if (sub) log.fatal(`No help topic for '${sub}'`);
          return sub ? 1 : 0;
        }
        return await etcdSnapshot(sub, p, createLogger(io.stderr, { debug: debug || p.values.get('debug') === true }));
      }
      case 'kubectl':
        return await kubectl(rest, io);
      default:
        log.fatal(`No help topic for '${cmd}'`);
        return 1;
    }
  } catch (e) {
    log.fatal((e as Error).message);
    return 1;
  }
}
