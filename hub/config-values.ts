// Value parsers for the hub's flags (config.ts): each checks one kind of value and names its flag in
// the ConfigError it throws.
import { networkInterfaces } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError } from './errors.js';
import { parseDuration } from './duration.js';
import { parseDatastore, type DatastoreSpec } from './store/datastore-url.js';

/**
 * The store drops a node's certificate rows 60 days after they expired (hub/store/sqlite-certs.ts
 * PRUNE_EXPIRED_AFTER_MS), so a longer grace could never be honoured: refuse it here, by name.
 */
const MAX_CERT_RECOVERY_GRACE_MS = 60 * 86_400_000;

export function recoveryGrace(text: string): number {
  const ms = duration(text, '--cert-recovery-grace');
  if (ms > MAX_CERT_RECOVERY_GRACE_MS)
    throw new ConfigError(
      `--cert-recovery-grace ${text} is longer than 60d, how long the hub keeps expired certificates; past it a node joins again with a token`,
    );
  return ms;
}

export function duration(text: string, what: string): number {
  try {
    return parseDuration(text);
  } catch (err) {
    throw new ConfigError(`${what}: ${(err as Error).message}`);
  }
}

export function optionalCount(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1)
    throw new ConfigError(`${what} must be a positive integer (got "${text}")`);
  return n;
}

export function clusterSecretFile(flag: string | undefined, env: NodeJS.ProcessEnv, dataDir: string): string {
  const path = flag ?? (env.ATOLL_CLUSTER_SECRET_FILE || join(dataDir, 'cluster-secret'));
  if (!path.trim()) throw new ConfigError('--cluster-secret-file must name a file');
  return resolve(path);
}

export function datastoreOf(
  flags: { datastore?: string; datastorePoolSize?: string },
  env: NodeJS.ProcessEnv,
  dataDir: string,
): DatastoreSpec {
  const poolSize = flags.datastorePoolSize ?? env.ATOLL_DATASTORE_POOL_SIZE;
  try {
    return parseDatastore(flags.datastore ?? env.ATOLL_DATASTORE, dataDir, poolSize);
  } catch (err) {
    const flag = /pool size/.test((err as Error).message) ? '--datastore-pool-size' : '--datastore';
    throw new ConfigError(`${flag}: ${(err as Error).message}`);
  }
}

export function parseListen(text: string, what: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new ConfigError(`${what} "${text}" must be HOST:PORT (e.g. 127.0.0.1:9443)`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

export function firstNonLoopbackIPv4(): string | undefined {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

/** Longer than a hub's live window (membership.ts), so a hub is shown as gone before it is forgotten. */
export function forgetHubsAfter(text: string): number {
  const ms = duration(text, '--forget-hubs-after');
  if (ms < 10_000)
    throw new ConfigError(`--forget-hubs-after must be at least 10s (a hub is live for 6s after a beat); got ${text}`);
  return ms;
}

/** --autoscaler-grpc-listen: off (unset or `off`) or HOST:PORT. */
export function optionalListen(text: string | undefined): { host: string; port: number } | undefined {
  return text && text !== 'off' ? parseListen(text, '--autoscaler-grpc-listen') : undefined;
}
