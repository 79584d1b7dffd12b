// What `atoll-hub run` prints once it serves. A join line (with a live token) only while the hub has
// no nodes yet, and short-lived: an operator with nodes gets the `atoll-hub join-command` hint, so a
// restart never leaves a fresh token in a terminal or a log that nobody asked for.
import { resolve } from 'node:path';
import type { Hub } from './app.js';
import { defaultDataDir, type HubConfig } from './config.js';
import { renderBanner, type BannerInput } from './banner.js';

/** Lifetime of the token in the start banner. */
export const BANNER_TOKEN_TTL_MS = 15 * 60_000;

export async function startBanner(
  hub: Hub,
  config: HubConfig,
  env: NodeJS.ProcessEnv,
  isRoot: boolean,
): Promise<string> {
  const nodes = (await hub.services.store.listNodes()).length;
  let join: BannerInput['join'];
  if (nodes === 0) {
    const j = await hub.services.joinCommand('default', 'hub', BANNER_TOKEN_TTL_MS);
    join = { command: j.command, expiresAt: j.expiresAt, ttlMinutes: BANNER_TOKEN_TTL_MS / 60_000 };
  } else {
    const dataDirFlag = config.dataDir === resolve(defaultDataDir(env, isRoot)) ? '' : ` --data-dir ${config.dataDir}`;
    join = { nodes, hint: `atoll-hub join-command${dataDirFlag} [--pool P]` };
  }
  return renderBanner({
    hubVersion: hub.services.hubVersion,
    apiUrl: hub.apiUrl,
    apiHost: config.apiListen.host,
    adminTokenPath: hub.adminTokenPath,
    dataDir: config.dataDir,
    gatewayUrl: hub.gatewayUrl,
    controlPlane: hub.services.cluster(),
    join,
    isRoot,
  });
}
