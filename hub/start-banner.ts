// What `atoll-hub run` prints once it serves. A join line (with a live token) only while the hub has
// no nodes yet, and short-lived: an operator with nodes gets the `atoll-hub join-command` hint, so a
// restart never leaves a fresh token in a terminal or a log that nobody asked for.
import { resolve } from 'node:path';
import type { Hub } from './app.js';
import { defaultDataDir, type HubConfig } from './config.js';

/** Lifetime of the token in the start banner. */
export const BANNER_TOKEN_TTL_MS = 15 * 60_000;

export async function startBanner(hub: Hub, config: HubConfig, env: NodeJS.ProcessEnv, isRoot: boolean): Promise<string> {
  const cluster = hub.services.cluster();
  const lines = [
    `atoll hub ${hub.services.hubVersion} is running`,
    `  API:          ${hub.apiUrl}`,
    `  admin token:  ${hub.adminTokenPath}`,
    `  gateway:      ${hub.gatewayUrl}`,
    `  control plane: ${cluster.state} (${cluster.message})`,
  ];
  const nodes = (await hub.services.store.listNodes()).length;
  if (nodes === 0) {
    const join = await hub.services.joinCommand('default', 'hub', BANNER_TOKEN_TTL_MS);
    lines.push(`  join a first server to pool "default" (single use, expires in ${BANNER_TOKEN_TTL_MS / 60_000} min, at ${join.expiresAt}):`, `    ${join.command}`);
  } else {
    const dataDirFlag = config.dataDir === resolve(defaultDataDir(env, isRoot)) ? '' : ` --data-dir ${config.dataDir}`;
    lines.push(`  nodes:        ${nodes}; to join another server, print a line with a fresh token:`, `    atoll-hub join-command${dataDirFlag} [--pool P]`);
  }
  return lines.join('\n') + '\n';
}
