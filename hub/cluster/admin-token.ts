// The admin token of a cluster of hubs: every hub on one PostgreSQL accepts the same one. The first
// hub stores its token in the store, sealed with the cluster secret (the store never sees it in the
// clear); a hub that finds one stored there takes it and writes it to its own <data-dir>/admin-token,
// so the admin commands on its machine work too. A hub alone on SQLite keeps the token in its file only.
//
// Rotation (POST /v1/admin-token/rotate): a new random token replaces the old one in this hub's file
// (atomically, 0600) and, on PostgreSQL, sealed in the store; the old one is refused here at once. The
// other hubs hear of it (change topic `secrets`, store/pg-changes.ts; a slow poll besides), rewrite
// their own file and refuse the old one too. In memory only the SHA-256 is kept, compared in constant time.
import { writeSecretFile } from '../../certs/files.js';
import type { SealKey } from '../../certs/sealed.js';
import type { HubConfig } from '../config.js';
import { loadOrCreateAdminToken, newAdminToken } from '../data-dir.js';
import type { Logger } from '../logger.js';
import { StoreSecrets } from '../pki/store-secrets.js';
import type { SecretStore } from '../store/secret-types.js';
import type { StoreChanges } from '../store/cluster-types.js';
import { secretMatches, sha256Hex } from '../tokens/secrets.js';
import { pacedLoop } from './paced-loop.js';

export const ADMIN_TOKEN_SECRET = 'admin-token';

export interface AdminTokenRotation {
  /** This hub's admin-token file, which now holds the new token. */
  path: string;
  rotatedAt: string;
  /** `cluster`: stored for every hub on the datastore; `hub`: this hub only (SQLite). */
  scope: 'hub' | 'cluster';
  /**
   * Set when the cluster's token was replaced but this hub's file could not be written (e.g. a full
   * disk): the old token is refused all the same; the file is written again at each reload.
   */
  fileError?: string;
}

export class AdminToken {
  private hash: string;
  /** Moves on with every change made here, so a reload read before it does not undo it. */
  private changes = 0;
  /** A token this hub uses but could not write to its file yet. */
  private unwritten: string | undefined;
  private rotating: Promise<unknown> = Promise.resolve();
  private readonly secrets: StoreSecrets;

  constructor(
    readonly path: string,
    token: string,
    /** On PostgreSQL: the store holds the cluster's token. */
    private readonly shared: boolean,
    store: SecretStore,
    key: SealKey,
    private readonly logger: Logger,
  ) {
    this.hash = sha256Hex(token);
    this.secrets = new StoreSecrets(store, key);
  }

  /** Whether `presented` is the admin token now (a SHA-256 compared in constant time). */
  matches(presented: string): boolean {
    return secretMatches(presented, this.hash);
  }

  /** A new token in place of the current one; the current one is refused from the moment this resolves. */
  rotate(): Promise<AdminTokenRotation> {
    const run = this.rotating.then(() => this.rotateNow());
    this.rotating = run.catch(() => undefined);
    return run;
  }

  private async rotateNow(): Promise<AdminTokenRotation> {
    const token = newAdminToken();
    const rotatedAt = new Date().toISOString();
    if (!this.shared) {
      // One hub: the file is the only copy, so it is written first; if that fails, nothing changed.
      writeSecretFile(this.path, `${token}\n`);
      this.hash = sha256Hex(token);
      this.changes++;
      return { path: this.path, rotatedAt, scope: 'hub' };
    }
    // The store first: if it fails, nothing has changed anywhere. Then the old token is refused here
    // whether or not this hub's file can be written.
    try {
      await this.secrets.replace(ADMIN_TOKEN_SECRET, Buffer.from(token));
    } catch (err) {
      // The answer may have been lost after the commit (a connection reset): what is stored decides.
      const stored = await this.secrets.get(ADMIN_TOKEN_SECRET).catch(() => undefined);
      if (!stored?.equals(Buffer.from(token))) throw err;
      this.logger.warn(
        { component: 'cluster', err: (err as Error).message },
        "the store's answer to the admin token rotation was lost, but the new token is stored: the rotation holds",
      );
    }
    this.changes++;
    const fileError = this.adopt(token);
    return { path: this.path, rotatedAt, scope: 'cluster', ...(fileError ? { fileError } : {}) };
  }

  /** Refuses the old token at once, then writes the file; returns why the file could not be written. */
  private adopt(token: string): string | undefined {
    this.hash = sha256Hex(token);
    this.unwritten = token;
    return this.writeFile();
  }

  private writeFile(): string | undefined {
    if (this.unwritten === undefined) return undefined;
    try {
      writeSecretFile(this.path, `${this.unwritten}\n`);
      this.unwritten = undefined;
      return undefined;
    } catch (err) {
      const why = (err as Error).message;
      this.logger.error(
        { component: 'cluster', path: this.path, err: why },
        'the admin token changed but this hub could not write its admin-token file; the old token is refused all the same, and the file is tried again',
      );
      return why;
    }
  }

  /** Takes the token stored for the cluster when it differs from this hub's (rotated through another hub). */
  async reload(): Promise<boolean> {
    if (!this.shared) return false;
    this.writeFile(); // one that could not be written before (a full disk) is tried again
    const at = this.changes;
    const stored = await this.secrets.get(ADMIN_TOKEN_SECRET);
    if (!stored || at !== this.changes) return false;
    const token = stored.toString('utf8');
    if (sha256Hex(token) === this.hash) return false;
    this.adopt(token);
    this.logger.info(
      { component: 'cluster', path: this.path },
      'the admin token was rotated through another hub; the old one is refused here now and this file holds the new one',
    );
    return true;
  }

  /**
   * Several hubs on one store: reloads when a secret changes (store/pg-changes.ts), and every slowMs
   * anyway (fastMs while no notifications flow). Returns the stop.
   */
  follow(changes: StoreChanges, onError: (err: Error) => void, fastMs = 500, slowMs = 5000): () => void {
    const loop = pacedLoop({
      run: async () => void (await this.reload()),
      onError,
      fastMs,
      slowMs,
      changes,
      topics: ['secrets'],
    });
    return () => loop.stop();
  }
}

export async function clusterAdminToken(
  config: Pick<HubConfig, 'dataDir' | 'datastore'>,
  store: SecretStore,
  key: SealKey,
  logger: Logger,
): Promise<AdminToken> {
  const local = loadOrCreateAdminToken(config.dataDir);
  const shared = config.datastore.kind === 'postgres';
  const made = (token: string) => new AdminToken(local.path, token, shared, store, key, logger);
  if (!shared) return made(local.token);
  const { value, won } = await new StoreSecrets(store, key).putIfAbsent(ADMIN_TOKEN_SECRET, Buffer.from(local.token));
  if (won) return made(local.token);
  const token = value.toString('utf8');
  writeSecretFile(local.path, `${token}\n`);
  logger.info(
    { component: 'cluster', path: local.path, replaced: !local.created },
    local.created
      ? "the cluster's admin token was loaded from the store (the same on every hub)"
      : "this hub's admin token differed from the cluster's; replaced with the cluster's (the same on every hub)",
  );
  return made(token);
}
