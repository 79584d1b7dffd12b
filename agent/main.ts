#!/usr/bin/env node
// atoll-agent: join a hub, run, or show status. Only this file exits the process.
import { Command, CommanderError } from 'commander';
import { AGENT_DEFAULTS, parseAgentConfig, defaultAgentDataDir, type AgentFlags } from './config.js';
import { createAgentLogger } from './logger.js';
import { joinOrKeep } from './join-flow.js';
import { readRemoved, removedMessage } from './removal.js';
import { hasIdentity, loadIdentity } from './identity.js';
import { refreshExpired } from './enroll.js';
import { discardIdentity } from './identity.js';
import { runAgent } from './runner.js';
import { readStatus, pidAlive } from './status-file.js';
import { readHubList } from './hub-list.js';
import { AgentError } from './errors.js';
import { readAgentVersion } from './version.js';
import { EXIT_UPGRADE } from './self-upgrade.js';
import { mkdirSync, chmodSync, existsSync } from 'node:fs';
import { lockDataDir, lockHolder } from '../certs/dir-lock.js';
import type { Identity } from './identity.js';
import { logFailure } from '../certs/log-failure.js';

const VERSION = readAgentVersion();
/**
 * Exit codes: 0 success, 1 failure, 2 usage, 3 removed, 4 another machine holds this node identity,
 * 10 restart into a new bundle (self-upgrade).
 */
const EXIT_REMOVED = 3;
const EXIT_IDENTITY_CONFLICT = 4;
const isRoot = process.getuid?.() === 0;

const DATA_DIR_HELP = `agent state (env ATOLL_AGENT_DATA_DIR; default ${AGENT_DEFAULTS.dataDirAsRoot} as root, else ${AGENT_DEFAULTS.dataDir})`;
const LOG_LEVEL_HELP = `pino level (env ATOLL_LOG_LEVEL; default ${AGENT_DEFAULTS.logLevel})`;

function collect(value: string, prev: string[]): string[] {
  return [...prev, value];
}

function ensureDataDir(dir: string): void {
  if (existsSync(dir)) return;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') throw err;
    throw new AgentError(
      'DATA_DIR',
      `cannot create the data dir ${dir}: ${code === 'EROFS' ? 'read-only file system' : 'permission denied'} (uid ${process.getuid?.() ?? '?'}); ` +
        (isRoot
          ? 'pick another with --data-dir DIR'
          : `pick a directory you can write with --data-dir DIR, or run as root (state then goes to ${AGENT_DEFAULTS.dataDirAsRoot})`),
    );
  }
}

/** The refusal of `join` on a server that already joined, with what to do instead. */
function alreadyJoined(dataDir: string, id: Identity): AgentError {
  const holder = lockHolder(dataDir);
  const agent = holder
    ? `its agent runs (pid ${holder.pid})`
    : 'its agent is not running: start it with "atoll-agent run"';
  return new AgentError(
    'ALREADY_JOINED',
    `this server already joined ${id.hubUrl} as ${id.nodeName} (${id.nodeId}, pool ${id.pool}); ${agent}. ` +
      `To join again with this token (a new identity; remove the old node on the hub), pass --force`,
  );
}

/** Runs the agent; the caller holds the data dir's lock, which keeps a second agent off it. */
async function runUntilStopped(flags: AgentFlags): Promise<number> {
  const config = parseAgentConfig(flags, process.env, isRoot);
  const logger = createAgentLogger(config.logLevel);
  // By design: a promise nobody caught is a bug, logged with its error; the agent keeps its link and
  // k3s running. An exception nobody caught: log it and exit 1, and systemd starts a fresh agent.
  process.on('unhandledRejection', (reason: unknown) => {
    logger.error({ err: reason }, 'a promise rejected and nobody caught it (a bug); the agent keeps running');
  });
  process.on('uncaughtException', (err: Error) => {
    logger.fatal({ err }, 'uncaught exception; exiting so that the supervisor restarts the agent');
    process.exit(1);
  });
  const agent = runAgent(config, logger, VERSION);
  const onSignal = (sig: string): void => {
    logger.info({ signal: sig }, 'stopping');
    agent.stop().catch(logFailure(logger, 'stopping'));
  };
  process.once('SIGINT', () => onSignal('SIGINT'));
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  const how = await agent.done;
  if (how === 'removed') {
    process.stderr.write(
      'error: this node was removed from the hub and has forgotten its identity; join again with a new token\n',
    );
    // A distinct code, so service managers stop restarting it (RestartPreventExitStatus=3).
    return EXIT_REMOVED;
  }
  if (how === 'identity-conflict') {
    const reason = agent.connection.getStatus().lastError ?? '';
    process.stderr.write(
      `error: another machine holds this node identity (${reason}); re-join this machine as a new node: atoll-agent join --token TOKEN --force\n`,
    );
    return EXIT_IDENTITY_CONFLICT;
  }
  if (how === 'upgrade') return EXIT_UPGRADE;
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const program = new Command('atoll-agent')
    .description('atoll agent: joins a hub over mTLS, reports health, runs the k3s agent')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command('join')
    .description('enroll with a join token (key made here, CSR signed by the hub), then run')
    .option('--hub <url>', 'hub gateway URL, e.g. https://hub.example.com:9444 (env ATOLL_HUB_URL)')
    .option(
      '--token <token>',
      'join token (env ATOLL_TOKEN); a command line is visible to every user: prefer ATOLL_TOKEN or --token-file',
    )
    .option('--token-file <file>', 'read the join token from FILE, e.g. a 0600 file (env ATOLL_TOKEN_FILE)')
    .option('--pool <pool>', 'pool to join (must match the token)')
    .option('--node-name <name>', 'Kubernetes node name (default: hostname)')
    .option('--label <k=v>', 'node label (repeatable)', collect, [])
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--k3s <mode>', 'auto | off (off: only report health)', undefined)
    .option('--log-level <level>', LOG_LEVEL_HELP, undefined)
    .option('--no-run', 'enroll and exit, without staying connected')
    .option(
      '--force',
      'join as a new node even when the data dir holds an identity (a cloned machine, or to start over); that identity is discarded here',
    )
    .action(async (flags: AgentFlags & { run: boolean; force?: boolean }) => {
      const config = parseAgentConfig(flags, process.env, isRoot);
      const say = (line: string): void => void process.stderr.write(`${line}\n`);
      // Its agent runs (it holds the data dir's lock): a current identity is kept and the token is not
      // used (a re-run of the installer changes nothing); anything else needs that agent stopped first.
      const holder = hasIdentity(config.dataDir) ? lockHolder(config.dataDir) : undefined;
      if (holder && !flags.force) {
        await joinOrKeep(config, createAgentLogger(config.logLevel), VERSION, say, {
          keepOnly: alreadyJoined(config.dataDir, loadIdentity(config.dataDir)),
        });
        say(`its agent runs (pid ${holder.pid}); to join again with a new token, stop it and pass --force`);
        return;
      }
      if (!hasIdentity(config.dataDir) || flags.force) {
        if (!config.hubUrl) throw new AgentError('USAGE', 'join needs --hub URL (or ATOLL_HUB_URL)');
        if (!config.token)
          throw new AgentError('USAGE', 'join needs --token TOKEN, --token-file FILE or env ATOLL_TOKEN');
      }
      ensureDataDir(config.dataDir);
      // Held from before the enrollment to the end of the run: a running agent refuses this join.
      const lock = lockDataDir(config.dataDir);
      try {
        const id = hasIdentity(config.dataDir) ? loadIdentity(config.dataDir) : undefined;
        if (id && flags.force) {
          discardIdentity(config.dataDir);
          say(`discarded the stored identity of ${id.nodeName} (${id.nodeId}); joining as a new node`);
        } else if (id && config.token && id.notAfter.getTime() <= Date.now()) {
          // Expired: renew it (or join again under the same node id with the token).
          const r = await refreshExpired(
            {
              token: config.token,
              dataDir: config.dataDir,
              agentVersion: VERSION,
              logger: createAgentLogger(config.logLevel),
            },
            id,
          );
          say(
            `${r.how === 'recovered' ? 'renewed the expired certificate of' : 'joined again as'} ${id.nodeName} (${id.nodeId}); valid until ${r.identity.notAfter.toISOString()}`,
          );
          if (flags.run) process.exitCode = await runUntilStopped(flags);
          return;
        }
        // Keeps a current identity (the token unused), re-joins a removed or foreign one.
        await joinOrKeep(config, createAgentLogger(config.logLevel), VERSION, say, { force: flags.force === true });
        if (flags.run) process.exitCode = await runUntilStopped(flags);
      } finally {
        lock.release();
      }
    });

  program
    .command('run')
    .description('run with the stored identity (no token needed)')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--k3s <mode>', 'auto | off')
    .option('--log-level <level>', LOG_LEVEL_HELP)
    .action(async (flags: AgentFlags) => {
      const config = parseAgentConfig(flags, process.env, isRoot);
      const removed = hasIdentity(config.dataDir) ? undefined : readRemoved(config.dataDir);
      if (removed) {
        // Removed at the hub: nothing to run until it joins again (and no restart loop: exit 3).
        process.stderr.write(`error: ${removedMessage(removed)}\n`);
        process.exitCode = EXIT_REMOVED;
        return;
      }
      loadIdentity(config.dataDir); // fail fast, with the fix, when there is none
      const lock = lockDataDir(config.dataDir);
      try {
        process.exitCode = await runUntilStopped(flags);
      } finally {
        lock.release();
      }
    });

  program
    .command('status')
    .description('show identity, hub, connection and k3s state')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('-o, --output <format>', 'json or table')
    .action((flags: { dataDir?: string; output?: string }) => {
      const dataDir = flags.dataDir ?? defaultAgentDataDir(process.env, isRoot);
      if (flags.output && flags.output !== 'json' && flags.output !== 'table')
        throw new AgentError('USAGE', '-o must be json or table');
      const removed = hasIdentity(dataDir) ? undefined : readRemoved(dataDir);
      if (removed) {
        if (flags.output === 'json') process.stdout.write(JSON.stringify({ removed }, null, 2) + '\n');
        else process.stderr.write(`${removedMessage(removed)}\n`);
        process.exitCode = EXIT_REMOVED;
        return;
      }
      const id = loadIdentity(dataDir);
      const st = readStatus(dataDir);
      const stderrWarn = { warn: (_o: object, msg: string) => void process.stderr.write(`warning: ${msg}\n`) };
      const running = st ? pidAlive(st.pid) : false;
      const out = {
        nodeId: id.nodeId,
        nodeName: id.nodeName,
        pool: id.pool,
        hub: id.hubUrl,
        // The hub the running agent is on (or dialing), and the live hubs the last welcome named (hubs.json).
        hubs: { current: (running && st?.link.hub) || null, known: readHubList(dataDir, stderrWarn) },
        joinedAt: id.joinedAt,
        certificate: { notBefore: id.notBefore.toISOString(), notAfter: id.notAfter.toISOString() },
        agent: { running, pid: running ? st?.pid : null, version: VERSION },
        connection: running && st ? st.link : { state: 'not-running' },
        k3s: st?.k3s ?? { state: 'unknown', version: '' },
      };
      if (flags.output === 'json') {
        process.stdout.write(JSON.stringify(out, null, 2) + '\n');
        return;
      }
      const conn = out.connection as { state: string; lastError?: string | null };
      process.stdout.write(
        [
          `node:        ${out.nodeName} (${out.nodeId}), pool ${out.pool}`,
          `hub:         ${out.hubs.current ?? out.hub}${out.hubs.current && out.hubs.current !== out.hub ? ` (joined through ${out.hub})` : ''}`,
          `known hubs:  ${out.hubs.known.join(', ') || '(none yet)'}`,
          `agent:       ${running ? `running, pid ${st?.pid}` : 'not running'} (version ${VERSION})`,
          `connection:  ${conn.state}${conn.lastError ? ` (last error: ${conn.lastError})` : ''}`,
          `certificate: valid until ${out.certificate.notAfter}`,
          `k3s:         ${out.k3s.state} ${out.k3s.version}`.trimEnd(),
        ].join('\n') + '\n',
      );
    });

  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help'
        ? 0
        : 2;
    }
    if (err instanceof AgentError) {
      process.stderr.write(`error: ${err.message}\n`);
      return err.code === 'USAGE' ? 2 : 1;
    }
    const e = err as Error & { code?: string };
    process.stderr.write(`error: ${e.code ? `${e.code}: ` : ''}${e.message}\n`);
    return 1;
  }
}

main(process.argv).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`fatal: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
