// A running agent: the hub link, health reports, commands, and the status file.
import { HubConnection } from './connection.js';
import { createHealthSource } from './health.js';
import { createCommandHandler } from './commands/index.js';
import { writeStatus } from './status-file.js';
import { loadIdentity } from './identity.js';
import type { AgentConfig } from './config.js';
import type { Logger } from './logger.js';

export interface RunningAgent {
  connection: HubConnection;
  /** Resolves when the agent stops: 'stopped' after stop(), 'removed' when the hub removed the node. */
  done: Promise<'stopped' | 'removed'>;
  stop(): void;
}

export function runAgent(config: AgentConfig, logger: Logger, agentVersion: string): RunningAgent {
  const k3sMode = config.k3s ?? loadIdentity(config.dataDir).k3s ?? 'auto';
  const k3sEnabled = k3sMode !== 'off';
  // k3s management arrives with the k3s integration; until then a node reports what it runs.
  const k3sStatus = () => ({ state: k3sEnabled ? 'not-installed' : 'disabled', version: '', kubeletHealthy: false, restarts: 0, lastLogLines: [] as string[] });
  let finish!: (how: 'stopped' | 'removed') => void;
  const done = new Promise<'stopped' | 'removed'>((resolve) => { finish = resolve; });
  let connection: HubConnection | undefined = undefined;
  const onCommand = createCommandHandler({
    k3sEnabled: false,
    rebootCommand: config.rebootCommand,
    logger,
    renewCertificate: () => connection?.maybeRenew(true) ?? Promise.resolve(),
  });
  const conn = new HubConnection({
    dataDir: config.dataDir,
    agentVersion,
    logger,
    health: createHealthSource(),
    k3sStatus,
    onCommand,
    reconnectMaxMs: config.reconnectMaxMs,
    onStatus: (link) => {
      try {
        writeStatus(config.dataDir, { pid: process.pid, agentVersion, updatedAt: new Date().toISOString(), link, k3s: { state: k3sStatus().state, version: '' } });
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'could not write status.json');
      }
    },
    onRemoved: () => finish('removed'),
  });
  connection = conn;
  conn.start();
  return {
    connection: conn,
    done,
    stop() {
      conn.stop();
      finish('stopped');
    },
  };
}
