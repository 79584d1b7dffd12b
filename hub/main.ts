#!/usr/bin/env node
// atoll-hub: parse the command line, build the config, start. Only this file exits the process.
import { Command, CommanderError, Option } from 'commander';
import { HUB_DEFAULTS as D, parseHubConfig, type HubFlags } from './config.js';
import type { Hub } from './app.js';
import { ConfigError } from './errors.js';
import { CliError } from './cli/output.js';
import { registerAdminCommands } from './cli/commands.js';
import { unknownCommand } from './cli/unknown-command.js';
import { readHubVersion } from './version.js';
import { addSinkOptions } from './sinks/sink-config.js';
import { addBackupOptions } from './backup/backup-config.js';
import { addAddressOptions } from './config-addresses.js';

/** Collects a repeatable option's values. */
const repeatable = (v: string, prev: string[] = []): string[] => [...prev, v];

function runCommand(program: Command): Command {
  return addBackupOptions(addSinkOptions(addAddressOptions(program)))
    .option(
      '--data-dir <dir>',
      `all hub state (env ATOLL_DATA_DIR; default ${D.dataDirAsRoot} as root, else ${D.dataDir})`,
    )
    .option('--api-listen <host:port>', `dashboard API, HTTPS (env ATOLL_API_LISTEN; default ${D.apiListen})`)
    .option(
      '--gateway-listen <host:port>',
      `agent gateway, HTTPS + WSS (env ATOLL_GATEWAY_LISTEN; default ${D.gatewayListen})`,
    )
    .option(
      '--autoscaler-grpc-listen <host:port>',
      "serve cluster-autoscaler's externalgrpc cloud provider here, mTLS, or off (env ATOLL_AUTOSCALER_GRPC_LISTEN; default off)",
    )
    .option('--public-url <url>', 'how agents reach the gateway (env ATOLL_PUBLIC_URL)')
    .option('--k3s <mode>', `auto | off | PATH to a k3s binary (env ATOLL_K3S; default ${D.k3s})`)
    .option('--heartbeat-interval <dur>', `agents' report interval (default ${D.heartbeatInterval})`)
    .option('--unreachable-after <dur>', `silence after which a node is unreachable (default ${D.unreachableAfter})`)
    .option('--log-level <level>', `fatal|error|warn|info|debug|trace (env ATOLL_LOG_LEVEL; default ${D.logLevel})`)
    .addOption(new Option('--node-cert-ttl <dur>', `lifetime of node client certificates (default ${D.nodeCertTtl})`))
    .addOption(
      new Option(
        '--cert-recovery-grace <dur>',
        `how long after expiry a node may renew over HTTPS with its own key (default ${D.certRecoveryGrace})`,
      ),
    )
    .addOption(
      new Option(
        '--cert-warn-before <dur>',
        `warn when a node certificate expires within this (default ${D.certWarnBefore}, or a quarter of --node-cert-ttl)`,
      ),
    )
    .addOption(
      new Option(
        '--join-rate-limit <n>',
        `join attempts per source address per minute (env ATOLL_JOIN_RATE_LIMIT; default ${D.joinRateLimit})`,
      ),
    )
    .option('--k3s-https-port <port>', `k3s API port (env ATOLL_K3S_HTTPS_PORT; default ${D.k3sHttpsPort})`, undefined)
    .option(
      '--k3s-datastore-endpoint <url>',
      "k3s's datastore (env ATOLL_K3S_DATASTORE_ENDPOINT); default: embedded on SQLite, `<database>_k3s` beside atoll's on PostgreSQL",
    )
    .option('--k3s-arg <arg>', 'extra argument for `k3s server` (repeatable)', repeatable)
    .option(
      '--cluster-name <name>',
      `name of the cluster, user and context in the kubeconfig the hub hands out (env ATOLL_CLUSTER_NAME; default ${D.clusterName})`,
    )
    .option(
      '--control-plane-schedulable',
      "let workloads run on the hub's own k3s node (by default it is tainted node-role.kubernetes.io/control-plane:NoSchedule)",
    )
    .addOption(
      new Option(
        '--k3s-node-token-ttl <ttl>',
        `TTL of per-node k3s join tokens (k3s syntax; 0 = until the node is removed; default ${D.k3sNodeTokenTtl})`,
      ),
    )
    .addOption(
      new Option(
        '--remove-drain-timeout <dur>',
        `drain time allowed when removing a node (default ${D.removeDrainTimeout})`,
      ),
    )
    .addOption(
      new Option(
        '--k3s-restart-backoff <dur>',
        `first delay before restarting a crashed k3s server (doubles per crash; default ${D.k3sRestartBackoff})`,
      ),
    )
    .addOption(
      new Option(
        '--k3s-failed-retry <dur>',
        `after the k3s server was marked failed, try again after this (doubles, at most 30m; default ${D.k3sFailedRetry})`,
      ),
    )
    .option('--autoheal-interval <dur>', `how often autoheal looks at the nodes (default ${D.autohealInterval})`)
    .option(
      '--autoscale-interval <dur>',
      `how often autoscale looks at pods and pools (default ${D.autoscaleInterval})`,
    )
    .addOption(
      new Option(
        '--autoheal-guard-window <dur>',
        `partition guard window: half the agents dropping within it freezes remediation (default ${D.autohealGuardWindow})`,
      ),
    )
    .addOption(
      new Option(
        '--autoheal-flap-window <dur>',
        `more than 2 health changes within it mark a node flapping (default ${D.autohealFlapWindow})`,
      ),
    )
    .addOption(
      new Option(
        '--auto-upgrade-interval <dur>',
        `how often the auto-upgrade policy looks for a newer k3s artifact in its window (default ${D.autoUpgradeInterval})`,
      ),
    )
    .addOption(
      new Option(
        '--handshake-timeout <dur>',
        `both listeners: TLS handshake deadline, and the deadline for request headers after it (default ${D.handshakeTimeout})`,
      ),
    )
    .addOption(
      new Option(
        '--gateway-max-connections <n>',
        'open gateway connections at most (default: from the open-file limit)',
      ),
    )
    .addOption(
      new Option(
        '--gateway-max-connections-per-source <n>',
        'open gateway connections per source address at most (default: a quarter of the total, at most 1024)',
      ),
    )
    .addOption(
      new Option(
        '--api-max-connections <n>',
        'open API connections at most (default: from the open-file limit, at most 1024)',
      ),
    )
    .addOption(
      new Option(
        '--api-max-connections-per-source <n>',
        'open API connections per source address at most (default: half of the total, at most 256)',
      ),
    )
    .addOption(
      new Option(
        '--events-max-age <dur>',
        `prune events older than this (env ATOLL_EVENTS_MAX_AGE; default ${D.eventsMaxAge})`,
      ),
    )
    .addOption(
      new Option(
        '--events-max-count <n>',
        `keep at most this many events, pruning the oldest (env ATOLL_EVENTS_MAX_COUNT; default ${D.eventsMaxCount})`,
      ),
    )
    .option(
      '--cluster-secret-file <path>',
      "the key that seals the store's secrets (CA, serving key, k3s token); made 0600 at first start, the same file on every hub of a cluster (env ATOLL_CLUSTER_SECRET_FILE; default <data-dir>/cluster-secret)",
    )
    .option(
      '--datastore <url>',
      'where the hub state lives: postgres://USER@HOST:5432/DATABASE, or sqlite (env ATOLL_DATASTORE; default <data-dir>/hub.db)',
    )
    .option(
      '--hub-id <id>',
      "this hub's id among the hubs on one datastore (env ATOLL_HUB_ID; default: made once, kept in <data-dir>/hub-id)",
    )
    .addOption(
      new Option(
        '--forget-hubs-after <dur>',
        `remove a hub from the hubs list after this long without a beat; it shows as gone until then (env ATOLL_FORGET_HUBS_AFTER; default ${D.forgetHubsAfter})`,
      ),
    )
    .option('--datastore-pool-size <n>', 'PostgreSQL connections at most (env ATOLL_DATASTORE_POOL_SIZE; default 10)')
    .option(
      '--reinit-store',
      "when the store is refused (damaged, missing beside the CA, another CA's): move it aside and start an empty one",
    );
}

async function run(flags: HubFlags): Promise<void> {
  const config = parseHubConfig(flags, process.env, process.getuid?.() === 0);
  // Loaded here, not at the top: the admin commands start in a fraction of the time without them.
  const [{ createLogger }, { startHub }, { startBanner }] = await Promise.all([
    import('./logger.js'),
    import('./app.js'),
    import('./start-banner.js'),
  ]);
  const logger = createLogger(config.logLevel);
  // By design: a promise nobody caught is a bug, logged with its error and counted; the hub keeps
  // serving. An exception nobody caught leaves the process in an unknown state: log it and exit 1,
  // and the supervisor (systemd) starts a fresh hub.
  const started: { hub?: Hub } = {};
  process.on('unhandledRejection', (reason: unknown) => {
    logger.error({ err: reason }, 'a promise rejected and nobody caught it (a bug); the hub keeps running');
    started.hub?.unhandledRejection();
  });
  process.on('uncaughtException', (err: Error) => {
    logger.fatal({ err }, 'uncaught exception; exiting so that the supervisor restarts the hub');
    process.exit(1);
  });
  const hub = await startHub(config, { logger });
  started.hub = hub;
  process.stdout.write(await startBanner(hub, config, process.env, process.getuid?.() === 0));
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    hub.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'unclean stop');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

async function main(argv: string[]): Promise<number> {
  const program = new Command('atoll-hub')
    .description(
      'atoll hub: k3s control plane, node registry, CA and join tokens (atoll-hub --version prints the version)',
    )
    .option('-o, --output <format>', 'table, wide, json or yaml (admin commands)')
    .option('--context <name>', 'the hub of this context (atoll-hub context list; env ATOLL_CONTEXT)')
    .option('--ca <file>', 'trust this hub CA certificate (env ATOLL_CA_FILE)')
    .exitOverride()
    .configureOutput({ writeErr: (str) => process.stderr.write(str) });
  runCommand(program.command('run', { isDefault: true }).description('run the hub server (default)'))
    .allowExcessArguments()
    .action(async (flags: HubFlags, cmd: Command) => {
      // `atoll-hub WORD` reaches the default command when WORD is no command.
      if (cmd.args.length)
        throw unknownCommand(
          cmd.args[0],
          program.commands.map((c) => c.name()),
        );
      return run(flags);
    });
  registerAdminCommands(program);
  // --data-dir is also understood by admin commands, to find the running hub.
  for (const c of program.commands)
    if (!['run', 'context', 'completion'].includes(c.name()) && !c.options.some((o) => o.long === '--data-dir'))
      c.option('--data-dir <dir>', 'hub data dir (to find the running hub)');
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
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help')
        return 0;
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

main(process.argv).then(
  (code) => {
    // `run` keeps the process alive through its servers; everything else exits with its code.
    if (
      code !== 0 ||
      (process.argv[2] !== undefined && !['run'].includes(process.argv[2]) && !process.argv[2].startsWith('-'))
    )
      process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`fatal: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
