// A running agent: the hub link, health reports, commands, k3s, and the status file.
import { HubConnection } from './connection.js';
import { createHealthSource } from './health.js';
import { createCommandHandler } from './commands/index.js';
import { writeStatus } from './status-file.js';
import { loadIdentity, type Identity } from './identity.js';
import { forgetIdentity } from './removal.js';
import { K3sManager } from './k3s/manager.js';
import { k3sPaths } from './k3s/paths.js';
import type { AgentConfig } from './config.js';
import type { Logger } from './logger.js';
import type { K3sStatus } from '../proto/index.js';
import { checkAtStartup, installedBundle, stageUpgrade, SelfUpgradeError } from './self-upgrade.js';
import { logFailure } from '../certs/log-failure.js';

export type StopReason = 'stopped' | 'removed' | 'identity-conflict' | 'upgrade';

export interface RunningAgent {
  connection: HubConnection;
  k3s?: K3sManager;
  /**
   * Resolves when the agent stops: 'stopped' after stop(), 'removed' when the hub removed the node,
   * 'identity-conflict' when another machine holds this node identity, 'upgrade' to restart into another bundle.
   */
  done: Promise<StopReason>;
  stop(): Promise<void>;
}

export function runAgent(config: AgentConfig, logger: Logger, agentVersion: string): RunningAgent {
  let connection: HubConnection | undefined = undefined;
  /** The identity, with the hub the link is on now: downloads go there, not to a registration hub that may be gone. */
  const linkIdentity = (): Identity => {
    const id = loadIdentity(config.dataDir);
    const hub = connection?.getStatus().hub;
    return hub ? { ...id, hubUrl: hub } : id;
  };
  const k3sMode = config.k3s ?? loadIdentity(config.dataDir).k3s ?? 'auto';
  const k3s =
    k3sMode === 'off'
      ? undefined
      : new K3sManager({
          agentDataDir: config.dataDir,
          logger,
          identity: linkIdentity,
          healthzUrl: config.kubeletHealthzUrl,
          startGraceMs: config.k3sStartGraceMs,
        });
  const k3sStatus = (): K3sStatus =>
    k3s?.status() ?? { state: 'disabled', version: '', kubeletHealthy: false, restarts: 0, lastLogLines: [] };
  let finish!: (how: StopReason) => void;
  const done = new Promise<StopReason>((resolve) => {
    finish = resolve;
  });
  const bundle = installedBundle();
  /** Leaves for a restart into another bundle; k3s keeps serving and is adopted by the next agent. */
  const restartIntoBundle = (): void => {
    connection?.stop();
    k3s?.detach();
    finish('upgrade');
  };
  const startup = checkAtStartup(bundle, agentVersion, logger, restartIntoBundle);
  const upgradeAgent = async (
    args: Record<string, string>,
  ): Promise<{ ok: boolean; errorCode?: string; message?: string }> => {
    const version = args.version ?? '';
    if (version === agentVersion) return { ok: true, message: `already on ${version}` };
    if (!bundle)
      return {
        ok: false,
        errorCode: 'SELF_UPGRADE_UNSUPPORTED',
        message: `this agent runs from ${process.argv[1]}, not an installed bundle (install.sh installs one): upgrade it by hand`,
      };
    if (!args.url || !/^[0-9a-f]{64}$/.test(args.sha256 ?? ''))
      return { ok: false, errorCode: 'BAD_COMMAND', message: 'upgrade-agent needs version, url and sha256' };
    const confirmWithinMs = Math.max(10_000, Number(args.confirmWithinMs) || 120_000);
    try {
      await stageUpgrade({
        identity: linkIdentity(),
        bundle,
        currentVersion: agentVersion,
        version,
        urlPath: args.url,
        sha256: args.sha256,
        confirmWithinMs,
      });
    } catch (err) {
      if (err instanceof SelfUpgradeError) return { ok: false, errorCode: err.code, message: err.message };
      throw err;
    }
    logger.warn(
      { from: agentVersion, to: version, confirmWithinMs },
      'agent bundle swapped; restarting into the new version',
    );
    // Answer first, then leave: the service manager starts the new bundle.
    setTimeout(restartIntoBundle, 300).unref();
    return {
      ok: true,
      message: `upgrading ${agentVersion} -> ${version}; restarting (it must reach the hub within ${Math.round(confirmWithinMs / 1000)}s or ${agentVersion} comes back)`,
    };
  };
  const onCommand = createCommandHandler({
    k3sEnabled: Boolean(k3s),
    restartK3s: k3s ? () => k3s.restart() : undefined,
    rebootCommand: config.rebootCommand,
    logger,
    renewCertificate: () => connection?.maybeRenew(true) ?? Promise.resolve(),
    upgradeAgent,
  });
  const writeStatusFile = (): void => {
    if (!connection) return;
    try {
      const s = k3sStatus();
      writeStatus(config.dataDir, {
        pid: process.pid,
        agentVersion,
        updatedAt: new Date().toISOString(),
        link: connection.getStatus(),
        k3s: { state: s.state ?? '', version: s.version ?? '' },
      });
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'could not write status.json');
    }
  };
  const conn = new HubConnection({
    dataDir: config.dataDir,
    agentVersion,
    logger,
    health: createHealthSource('/', [
      { role: 'agent-data', path: config.dataDir },
      { role: 'k3s-data', path: k3sPaths(config.dataDir).dataDir },
    ]),
    k3sStatus,
    onCommand,
    k3sMode: k3sMode === 'off' ? 'off' : 'auto',
    onK3sAssignment: (a) =>
      k3s?.apply(a).then(writeStatusFile).catch(logFailure(logger, 'applying the k3s assignment')),
    reconnectMaxMs: config.reconnectMaxMs,
    onStatus: (st) => {
      if (st.state === 'connected') {
        try {
          startup.trial?.confirm();
        } catch (err) {
          logger.warn({ err: (err as Error).message }, 'could not record the confirmed self-upgrade');
        }
      }
      writeStatusFile();
    },
    onEnded: async (why, reason) => {
      // Removed: k3s goes with the node. A clone: stop its kubelet (it would fight the holder's).
      if (why === 'removed') await k3s?.removed();
      else await k3s?.stop();
      writeStatusFile();
      if (why !== 'removed') return;
      // Its certificates are revoked: keep no identity that would make the server look joined.
      try {
        forgetIdentity(config.dataDir, loadIdentity(config.dataDir), reason);
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'could not forget the removed identity');
      }
    },
    onGone: (why) => finish(why),
  });
  connection = conn;
  k3s?.resume();
  conn.start();
  return {
    connection: conn,
    k3s,
    done,
    async stop() {
      conn.stop();
      await k3s?.stop();
      finish('stopped');
    },
  };
}
