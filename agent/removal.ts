// A node the hub removed forgets its identity: its key and certificates are revoked and useless, and
// a server that keeps them cannot be joined again. What stays is removed.json (who it was, when,
// why), so `run` and `status` can say so and exit 3, and k3s stays stopped: its token and last
// assignment go too, so nothing resumes it.
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writePublicFile } from '../certs/files.js';
import { k3sPaths } from './k3s/paths.js';
import type { IdentityMeta } from './identity.js';

export interface RemovedMarker {
  nodeId: string;
  nodeName: string;
  pool: string;
  hubUrl: string;
  removedAt: string;
  reason: string;
}

const MARKER = 'removed.json';

/** Writes removed.json, then removes the identity (identity.json last but one: the marker is first). */
export function forgetIdentity(
  dataDir: string,
  id: Pick<IdentityMeta, 'nodeId' | 'nodeName' | 'pool' | 'hubUrl'>,
  reason: string,
): RemovedMarker {
  const marker: RemovedMarker = {
    nodeId: id.nodeId,
    nodeName: id.nodeName,
    pool: id.pool,
    hubUrl: id.hubUrl,
    removedAt: new Date().toISOString(),
    reason: reason.slice(0, 500),
  };
  writePublicFile(join(dataDir, MARKER), JSON.stringify(marker, null, 2) + '\n');
  rmSync(join(dataDir, 'identity.json'), { force: true });
  dropCredentials(dataDir);
  return marker;
}

/** The node's keys, certificates and CA, and k3s's token and assignment (the k3s binary and data stay). */
export function dropCredentials(dataDir: string): void {
  for (const f of existsSync(dataDir) ? readdirSync(dataDir) : []) {
    if (/^node-[0-9a-f]+\.(key|crt)$/.test(f) || f === 'ca.crt') rmSync(join(dataDir, f), { force: true });
  }
  dropK3sAssignment(dataDir);
}

/** k3s's join token and last assignment: without them nothing resumes k3s at the next start. */
export function dropK3sAssignment(dataDir: string): void {
  const k3s = k3sPaths(dataDir);
  rmSync(k3s.tokenFile, { force: true });
  rmSync(k3s.assignment, { force: true });
}

export function readRemoved(dataDir: string): RemovedMarker | undefined {
  try {
    return JSON.parse(readFileSync(join(dataDir, MARKER), 'utf8')) as RemovedMarker;
  } catch {
    return undefined;
  }
}

export function clearRemoved(dataDir: string): void {
  rmSync(join(dataDir, MARKER), { force: true });
}

export function removedMessage(m: RemovedMarker): string {
  return `this node (${m.nodeName}, ${m.nodeId}) was removed from the hub ${m.hubUrl} at ${m.removedAt} (${m.reason}); its identity is gone: join again with a new token (install.sh --token-file FILE, or atoll-agent join)`;
}
