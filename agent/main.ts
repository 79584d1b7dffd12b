#!/usr/bin/env node
// atoll-agent: join a hub, run, or show status. Only this file exits the process.
import { Command, CommanderError } from 'commander';
import { parseAgentConfig, defaultAgentDataDir, type AgentFlags } from './config.js';
import { createAgentLogger } from './logger.js';
import { enroll, refreshExpired } from './enroll.js';
import { hasIdentity, loadIdentity, discardIdentity } from './identity.js';
import { runAgent } from './runner.js';
import { readStatus, pidAlive } from './status-file.js';
import { AgentError } from './errors.js';
import { readAgentVersion } from './version.js';
import { EXIT_UPGRADE } from './self-upgrade.js';
import { mkdirSync, chmodSync, existsSync } from 'node:fs';

const VERSION = readAgentVersion();
/**
 * Exit codes: 0 success, 1 failure, 2 usage, 3 removed, 4 another machine holds this node identity,
 * 10 restart into a new bundle (self-upgrade).
 */
const EXIT_REMOVED = 3;
const EXIT_IDENTITY_CONFLICT = 4;
const isRoot = process.getuid?.() === 0;

function collect(value: string, prev: string[]): string[] {
  return [...prev, value];
}

function ensureDataDir(dir: string): void {
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  }
}

async function runUntilStopped(flags: AgentFlags): Promise<number> {
  const config = parseAgentConfig(flags, process.env, isRoot);
  const logger = createAgentLogger(config.logLevel);
  const agent = runAgent(config, logger, VERSION);
  const onSignal = (sig: string): void => {
    logger.info({ signal: sig }, 'stopping');
    void agent.stop();
  };
  process.once('SIGINT', () => onSignal('SIGINT'));
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  const how = await agent.done;
  if (how === 'removed') {
    process.stderr.write('error: this node was removed from the hub; join again with a new token\n');
    // A distinct code, so service managers stop restarting it (RestartPreventExitStatus=3).
    return EXIT_REMOVED;
  }
  if (how === 'identity-conflict') {
    const reason = agent.connection.getStatus().lastError ?? '';
    process.stderr.write(`error: another machine holds this node identity (${reason}); re-join this machine as a new node: atoll-agent join --token TOKEN --force\n`);
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

  program.command('join').description('enroll with a join token (key made here, CSR signed by the hub), then run')
    .option('--hub <url>', 'hub gateway URL, e.g. https://hub.example.com:9444 (env ATOLL_HUB_URL)')
    .option('--token <token>', 'join token (env ATOLL_TOKEN)')
    .option('--pool <pool>', 'pool to join (must match the token)')
    .option('--node-name <name>', 'Kubernetes node name (default: hostname)')
    .option('--label <k=v>', 'node label (repeatable)', collect, [])
    .option('--data-dir <dir>', 'agent state (default /var/lib/atoll-agent as root, else ./.atoll-agent)')
    .option('--k3s <mode>', 'auto | off (off: only report health)', undefined)
    .option('--log-level <level>', 'pino level', undefined)
    .option('--no-run', 'enroll and exit, without staying connected')
    .option('--force', 'join as a new node even when the data dir holds an identity (a cloned machine); that identity is discarded here')
    .action(async (flags: AgentFlags & { run: boolean; force?: boolean }) => {
      const config = parseAgentConfig(flags, process.env, isRoot);
      ensureDataDir(config.dataDir);
      if (flags.force && hasIdentity(config.dataDir)) {
        const st = readStatus(config.dataDir);
        if (st && st.pid !== process.pid && pidAlive(st.pid)) throw new AgentError('USAGE', `an agent (pid ${st.pid}) runs on ${config.dataDir}; stop it before joining again with --force`);
        const old = loadIdentity(config.dataDir);
        discardIdentity(config.dataDir);
        process.stderr.write(`discarded the stored identity of ${old.nodeName} (${old.nodeId}); joining as a new node\n`);
      }
      if (hasIdentity(config.dataDir)) {
        const id = loadIdentity(config.dataDir);
        if (id.notAfter.getTime() <= Date.now() && config.token) {
          // Expired: renew it (or join again under the same node id with the token).
          const r = await refreshExpired({ token: config.token, dataDir: config.dataDir, agentVersion: VERSION, logger: createAgentLogger(config.logLevel) }, id);
          process.stderr.write(`${r.how === 'recovered' ? 'renewed the expired certificate of' : 'joined again as'} ${id.nodeName} (${id.nodeId}); valid until ${r.identity.notAfter.toISOString()}\n`);
        } else {
          process.stderr.write(`already joined as ${id.nodeName} (${id.nodeId}) to ${id.hubUrl}; running with the stored identity\n`);
        }
      } else {
        if (!config.hubUrl) throw new AgentError('USAGE', 'join needs --hub URL (or ATOLL_HUB_URL)');
        if (!config.token) throw new AgentError('USAGE', 'join needs --token TOKEN (or ATOLL_TOKEN)');
        const logger = createAgentLogger(config.logLevel);
        const id = await enroll({ hubUrl: config.hubUrl, token: config.token, dataDir: config.dataDir, pool: config.pool, nodeName: config.nodeName, labels: { ...config.labels }, k3s: config.k3s ?? 'auto', agentVersion: VERSION, logger });
        process.stderr.write(`joined as ${id.nodeName} (${id.nodeId}) in pool ${id.pool}\n`);
      }
      if (!flags.run) return;
      process.exitCode = await runUntilStopped(flags);
    });

  program.command('run').description('run with the stored identity (no token needed)')
    .option('--data-dir <dir>', 'agent state')
    .option('--k3s <mode>', 'auto | off')
    .option('--log-level <level>', 'pino level')
    .action(async (flags: AgentFlags) => {
      const config = parseAgentConfig(flags, process.env, isRoot);
      loadIdentity(config.dataDir); // fail fast, with the fix, when there is none
      process.exitCode = await runUntilStopped(flags);
    });

  program.command('status').description('show identity, hub, connection and k3s state')
    .option('--data-dir <dir>', 'agent state')
    .option('-o, --output <format>', 'json or table')
    .action((flags: { dataDir?: string; output?: string }) => {
      const dataDir = flags.dataDir ?? defaultAgentDataDir(process.env, isRoot);
      if (flags.output && flags.output !== 'json' && flags.output !== 'table') throw new AgentError('USAGE', '-o must be json or table');
      const id = loadIdentity(dataDir);
      const st = readStatus(dataDir);
      const running = st ? pidAlive(st.pid) : false;
      const out = {
        nodeId: id.nodeId, nodeName: id.nodeName, pool: id.pool, hub: id.hubUrl, joinedAt: id.joinedAt,
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
      process.stdout.write([
        `node:        ${out.nodeName} (${out.nodeId}), pool ${out.pool}`,
        `hub:         ${out.hub}`,
        `agent:       ${running ? `running, pid ${st?.pid}` : 'not running'} (version ${VERSION})`,
        `connection:  ${conn.state}${conn.lastError ? ` (last error: ${conn.lastError})` : ''}`,
        `certificate: valid until ${out.certificate.notAfter}`,
        `k3s:         ${out.k3s.state} ${out.k3s.version}`.trimEnd(),
      ].join('\n') + '\n');
    });

  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help' ? 0 : 2;
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

main(process.argv).then((code) => process.exit(code), (err: unknown) => {
  process.stderr.write(`fatal: ${(err as Error).message}\n`);
  process.exit(1);
});
