// What a server needs before it can listen: its datastore, the cluster CAs (from the datastore's
// bootstrap data when another server made them first) and its tokens.
import { join } from 'node:path';
import type { Logger } from '../util/log.js';
import type { ServerConfig } from './server-config.js';
import { ensureServerPki, type ServerPki } from '../pki/server-pki.js';
import { ensureServerTokens, resolveServerPassword } from './server-tokens.js';
import type { Passwords } from './supervisor-auth.js';
import { servingSans } from './server-sans.js';
import { openStore, type OpenedStore } from '../store/open-store.js';
import { loadBootstrap, saveBootstrap } from './bootstrap-data.js';

export interface PreparedCluster {
  readonly opened: OpenedStore;
  readonly pki: ServerPki;
  readonly passwords: Passwords;
}

export async function prepareCluster(
  cfg: ServerConfig,
  log: Logger,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
  onFatal: (e: Error) => void,
): Promise<PreparedCluster | undefined> {
  const opened = await openStore(cfg, log, env, signal, onFatal);
  if (!opened) return undefined;
  try {
    const password = resolveServerPassword(cfg.dataDir, cfg.token);
    const tlsDir = join(cfg.dataDir, 'server', 'tls');
    const sans = servingSans(cfg);
    const full = opened.kv !== undefined;
    let pki: ServerPki;
    if (opened.kv && loadBootstrap(opened.kv, password, tlsDir)) {
      log.info('Cluster bootstrap data loaded from the datastore');
      pki = ensureServerPki(cfg.dataDir, sans, full);
    } else {
      pki = ensureServerPki(cfg.dataDir, sans, full);
      if (opened.kv && !saveBootstrap(opened.kv, password, tlsDir)) {
        // another server saved its CAs first: use those
        log.warn('bootstrap key already exists');
        loadBootstrap(opened.kv, password, tlsDir);
        pki = ensureServerPki(cfg.dataDir, sans, full);
      }
    }
    const passwords = ensureServerTokens(cfg.dataDir, password, cfg.agentToken, pki.serverCaPem);
    return { opened, pki, passwords };
  } catch (e) {
    opened.store.close();
    throw e;
  }
}
