// Named secrets in the store, sealed with the cluster secret on the way in and opened on the way out.
// The store only ever sees sealed bytes; each is bound to its name (a blob cannot stand in for another).
import { seal, unseal, type SealKey } from '../../certs/sealed.js';
import type { SecretStore } from '../store/secret-types.js';

/** The purpose (HKDF info, certs/sealed.ts) of secrets in the store's secrets table. */
export const STORE_SECRET_PURPOSE = 'store';

export const SECRET_NAMES = {
  ca: 'ca',
  servingKey: 'serving-key',
  ticketKeys: 'tls-ticket-keys',
  k3sServerToken: 'k3s-server-token',
} as const;

export class StoreSecrets {
  constructor(
    private readonly store: SecretStore,
    readonly key: SealKey,
  ) {}

  /** The secret, opened; undefined when the store has none. SealError when it does not open. */
  async get(name: string): Promise<Buffer | undefined> {
    const sealed = await this.store.getSecret(name);
    return sealed && this.open(name, sealed);
  }

  open(name: string, sealed: Buffer): Buffer {
    return unseal(this.key, STORE_SECRET_PURPOSE, name, sealed);
  }

  /**
   * Seals and stores `value` unless the store has `name` already, then opens what is stored: the
   * value in use, read back through the store (so an import is verified before anything relies on
   * it). `won` tells whether it is ours (another hub may have stored its own first).
   */
  async putIfAbsent(name: string, value: Buffer): Promise<{ value: Buffer; won: boolean }> {
    const stored = await this.store.putSecretIfAbsent(name, seal(this.key, STORE_SECRET_PURPOSE, name, value));
    const opened = this.open(name, stored);
    return { value: opened, won: opened.equals(value) };
  }

  /** Seals `value` and stores it under `name`, replacing what is there (a rotation). */
  async replace(name: string, value: Buffer): Promise<void> {
    await this.store.replaceSecret(name, seal(this.key, STORE_SECRET_PURPOSE, name, value));
  }
}
