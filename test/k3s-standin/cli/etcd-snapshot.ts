// `k3s etcd-snapshot save` (pkg/cli/etcdsnapshot, k3s >= 1.29): asks the running server to take the
// snapshot (POST /db/snapshot with the server token) and logs "Snapshot <name> saved." for each one
// made. The token is --etcd-token, else <data-dir>/server/token; the server's CA is checked
// against the token's hash as an agent does. Other subcommands are not implemented by the stand-in.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from '../util/log.js';
import { str, type ParsedFlags } from './flag-parser.js';
import { parseAndValidateToken, bodyOrError } from '../agent/cluster-access.js';
import { authHeader } from '../util/k10-token.js';
import { httpsRequest } from '../util/https-client.js';
import { defaultDataDir } from '../server/server-config.js';
import type { SnapshotResult } from '../server/snapshot-route.js';

export const ETCD_SNAPSHOT_SUBCOMMANDS = ['save', 'delete', 'ls', 'list', 'l', 'prune'];

function serverToken(p: ParsedFlags, dataDir: string): string {
  const given = str(p, 'etcd-token');
  if (given) return given;
  const file = join(dataDir, 'server', 'token');
  if (!existsSync(file)) throw new Error(`failed to read token file: open ${file}: no such file or directory`);
  return readFileSync(file, 'utf8').trim();
}

export async function etcdSnapshot(sub: string, p: ParsedFlags, log: Logger): Promise<number> {
  if (sub !== 'save') throw new Error(`etcd-snapshot ${sub} is not implemented by the k3s stand-in`);
  const dataDir = resolve(str(p, 'data-dir') || defaultDataDir());
  const server = str(p, 'etcd-server') || 'https://127.0.0.1:6443';
  const info = await parseAndValidateToken(server, serverToken(p, dataDir), log);
  const dir = str(p, 'dir');
  const url = `${info.baseUrl}/db/snapshot`;
  const res = await httpsRequest(url, {
    method: 'POST',
    headers: { Authorization: authHeader(info.token, 'server'), 'Content-Type': 'application/json' },
    body: JSON.stringify({
      operation: 'save',
      name: [str(p, 'name') || 'on-demand'],
      ...(dir ? { dir: resolve(dir) } : {}),
    }),
    ...(info.caCerts.length ? { ca: info.caCerts } : {}),
    timeoutMs: 5 * 60_000,
  });
  let result: SnapshotResult;
  try {
    result = JSON.parse(bodyOrError(url, res).toString('utf8')) as SnapshotResult;
  } catch (e) {
    throw new Error(`failed to save snapshot: ${(e as Error).message}`, { cause: e });
  }
  for (const s of result.created ?? []) log.info(`Snapshot ${s.name} saved.`);
  return 0;
}
