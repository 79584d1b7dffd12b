// A running agent: the hub link, health reports, commands, k3s, and the status file.
import { HubConnection } from './connection.js';
import { createHealthSource } from './health.js';
import { createCommandHandler } from './commands/index.js';
import { writeStatus } from './status-file.js';
import { loadIdentity } from './identity.js';
import { K3sManager } from './k3s/manager.js';
import type { AgentConfig } from './config.js';
import type { Logger } from './logger.js';
import type { K3sStatus } from '../proto/index.js';

export interface RunningAgent {
  connection: HubConnection;
  k3s?: K3sManager;
  /** Resolves when the agent stops: 'stopped' after stop(), 'removed' when the hub removed the node. */
  done: Promise<'stopped' | 'removed'>;
  stop(): Promise<void>;
}

export function runAgent(config: AgentConfig, logger: Logger, agentVersion: string): RunningAgent {
  const k3sMode = config.k3s ?? loadIdentity(config.dataDir).k3s ?? 'auto';
  const k3s = k3sMode === 'off' ? undefined : new K3sManager({
    agentDataDir: config.dataDir,
    logger,
    identity: () => loadIdentity(config.dataDir),
    healthzUrl: config.kubeletHealthzUrl,
    startGraceMs: config.k3sStartGraceMs,
  });
  const k3sStatus = (): K3sStatus => k3s?.status() ?? { state: 'disabled', version: '', kubeletHealthy: false, restarts: 0, lastLogLines: [] };
  let finish!: (how: 'stopped' | 'removed') => void;
  const done = new Promise<'stopped' | 'removed'>((resolve) => { finish = resolve; });
  let connection: HubConnection | undefined = undefined;
  const onCommand = createCommandHandler({
    k3sEnabled: Boolean(k3s),
    restartK3s: k3s ? () => k3s.restart() : undefined,
    rebootCommand: config.rebootCommand,
    logger,
    renewCertificate: () => connection?.maybeRenew(true) ?? Promise.resolve(),
  });
  const writeStatusFile = (): void => {
    if (!connection) return;
    try {
      const s = k3sStatus();
      writeStatus(config.dataDir, { pid: process.pid, agentVersion, updatedAt: new Date().toISOString(), link: connection.getStatus(), k3s: { state: s.state ?? '', version: s.version ?? '' } });
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'could not write status.json');
    }
  };
  const conn = new HubConnection({
    dataDir: config.dataDir,
    agentVersion,
    logger,
    health: createHealthSource(),
    k3sStatus,
    onCommand,
    k3sMode: k3sMode === 'off' ? 'off' : 'auto',
    onK3sAssignment: (a) => void k3s?.apply(a).then(writeStatusFile),
    reconnectMaxMs: config.reconnectMaxMs,
    onStatus: () => writeStatusFile(),
    onRemoved: async () => {
      await k3s?.removed();
      writeStatusFile();
    },
    onGone: () => finish('removed'),
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
