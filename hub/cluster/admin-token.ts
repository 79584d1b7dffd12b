// The admin token of a cluster of hubs: every hub on one PostgreSQL accepts the same one. The first
// hub stores its token in the store, sealed with the cluster secret (the store never sees it in the
// clear); a hub that finds one stored there takes it and writes it to its own <data-dir>/admin-token,
// so the admin commands on its machine work too. A hub alone on SQLite keeps the token in its file only.
import { writeSecretFile } from '../../certs/files.js';
import type { SealKey } from '../../certs/sealed.js';
import type { HubConfig } from '../config.js';
import { loadOrCreateAdminToken } from '../data-dir.js';
import type { Logger } from '../logger.js';
import { StoreSecrets } from '../pki/store-secrets.js';
import type { SecretStore } from '../store/secret-types.js';

export const ADMIN_TOKEN_SECRET = 'admin-token';

export async function clusterAdminToken(
  config: Pick<HubConfig, 'dataDir' | 'datastore'>,
  store: SecretStore,
  key: SealKey,
  logger: Logger,
): Promise<{ token: string; path: string; created: boolean }> {
  const local = loadOrCreateAdminToken(config.dataDir);
  if (config.datastore.kind !== 'postgres') return local;
  const { value, won } = await new StoreSecrets(store, key).putIfAbsent(ADMIN_TOKEN_SECRET, Buffer.from(local.token));
  if (won) return local;
  const token = value.toString('utf8');
  writeSecretFile(local.path, `${token}\n`);
  logger.info(
    { component: 'cluster', path: local.path, replaced: !local.created },
    local.created
      ? "the cluster's admin token was loaded from the store (the same on every hub)"
      : "this hub's admin token differed from the cluster's; replaced with the cluster's (the same on every hub)",
  );
  return { token, path: local.path, created: false };
}
