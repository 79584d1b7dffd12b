#!/usr/bin/env node
// atoll-hub: parse the command line, build the config, start. Only this file exits the process.
import { Command, CommanderError, Option } from 'commander';
import { parseHubConfig, type HubFlags } from './config.js';
import { createLogger } from './logger.js';
import { startHub } from './app.js';
import { ConfigError } from './errors.js';
import { CliError } from './cli/output.js';
import { registerAdminCommands } from './cli/commands.js';
import { readHubVersion } from './version.js';

function runCommand(program: Command): Command {
  return program
    .option('--data-dir <dir>', 'all hub state (env ATOLL_DATA_DIR; default /var/lib/atoll as root, else ./.atoll)')
    .option('--api-listen <host:port>', 'dashboard API, HTTPS (env ATOLL_API_LISTEN; default 127.0.0.1:9443)')
    .option('--gateway-listen <host:port>', 'agent gateway, HTTPS + WSS (env ATOLL_GATEWAY_LISTEN; default 0.0.0.0:9444)')
    .option('--public-url <url>', 'how agents reach the gateway (env ATOLL_PUBLIC_URL)')
    .option('--k3s <mode>', 'auto | off | PATH to a k3s binary (env ATOLL_K3S)')
    .option('--heartbeat-interval <dur>', "agents' report interval", '10s')
    .option('--unreachable-after <dur>', 'silence after which a node is unreachable', '30s')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace (env ATOLL_LOG_LEVEL)')
    .addOption(new Option('--node-cert-ttl <dur>', 'lifetime of node client certificates').default('30d'))
    .addOption(new Option('--cert-recovery-grace <dur>', 'how long after expiry a node may renew over HTTPS with its own key (default 30d)'))
    .addOption(new Option('--cert-warn-before <dur>', 'warn when a node certificate expires within this (default 7d, or a quarter of --node-cert-ttl)'))
    .addOption(new Option('--join-rate-limit <n>', 'join attempts per source address per minute'))
    .option('--k3s-https-port <port>', 'k3s API port (env ATOLL_K3S_HTTPS_PORT)', undefined)
    .option('--k3s-arg <arg>', 'extra argument for `k3s server` (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .addOption(new Option('--k3s-node-token-ttl <ttl>', 'TTL of per-node k3s join tokens (k3s syntax; 0 = until the node is removed)'))
    .addOption(new Option('--remove-drain-timeout <dur>', 'drain time allowed when removing a node'))
    .addOption(new Option('--k3s-restart-backoff <dur>', 'first delay before restarting a crashed k3s server (doubles per crash)'))
    .option('--autoheal-interval <dur>', 'how often autoheal looks at the nodes (default 30s)')
    .addOption(new Option('--autoheal-guard-window <dur>', 'partition guard window: half the agents dropping within it freezes remediation (default 2m)'))
    .addOption(new Option('--autoheal-flap-window <dur>', 'more than 2 health changes within it mark a node flapping (default 15m)'))
    .addOption(new Option('--auto-upgrade-interval <dur>', 'how often the auto-upgrade policy looks for a newer k3s artifact in its window (default 1m)'));
}

async function run(flags: HubFlags): Promise<void> {
  const config = parseHubConfig(flags, process.env, process.getuid?.() === 0);
  const logger = createLogger(config.logLevel);
  const hub = await startHub(config, { logger });
  const join = await hub.services.joinCommand('default', 'hub', 3_600_000);
  const out = process.stdout;
  out.write(`atoll hub ${hub.services.hubVersion} is running\n`);
  out.write(`  API:          ${hub.apiUrl}\n`);
  out.write(`  admin token:  ${hub.adminTokenPath}\n`);
  out.write(`  gateway:      ${hub.gatewayUrl}\n`);
  out.write(`  control plane: ${hub.services.cluster().state} (${hub.services.cluster().message})\n`);
  out.write(`  join a server to pool "default" (single use, expires ${join.expiresAt}):\n    ${join.command}\n`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    hub.stop().then(() => process.exit(0), (err: unknown) => {
      logger.error({ err }, 'unclean stop');
      process.exit(1);
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

async function main(argv: string[]): Promise<number> {
  const program = new Command('atoll-hub')
    .description('atoll hub: k3s control plane, node registry, CA and join tokens (atoll-hub --version prints the version)')
    .option('-o, --output <format>', 'json or table (admin commands)')
    .exitOverride()
    .configureOutput({ writeErr: (str) => process.stderr.write(str) });
  runCommand(program.command('run', { isDefault: true }).description('run the hub server (default)'))
    .action(async (flags: HubFlags) => run(flags));
  registerAdminCommands(program);
  // --data-dir is also understood by admin commands, to find the running hub.
  for (const c of program.commands) if (c.name() !== 'run' && !c.options.some((o) => o.long === '--data-dir')) c.option('--data-dir <dir>', 'hub data dir (to find the running hub)');
  // `--version` alone prints ours; subcommands (artifact import, upgrade start) take --version V.
  if (argv.length === 3 && (argv[2] === '--version' || argv[2] === '-V')) {
    process.stdout.write(`${readHubVersion()}\n`);
    return 0;
  }
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      return 2;
    }
    if (err instanceof CliError) {
      process.stderr.write(`error: ${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`error: ${err.message}\n`);
      return 1;
    }
    const e = err as Error & { code?: string };
    process.stderr.write(`error: ${e.code ? `${e.code}: ` : ''}${e.message}\n`);
    return 1;
  }
}

main(process.argv).then((code) => {
  // `run` keeps the process alive through its servers; everything else exits with its code.
  if (code !== 0 || process.argv[2] !== undefined && !['run'].includes(process.argv[2]) && !process.argv[2].startsWith('-')) process.exit(code);
}, (err: unknown) => {
  process.stderr.write(`fatal: ${(err as Error).message}\n`);
  process.exit(1);
});
