// The store's part in keeping secrets: a table of sealed blobs (certs/sealed.ts makes and opens them;
// the store never sees a key). Several hubs share one store, so creation is first-writer-wins.

export interface SecretStore {
  /** The sealed bytes stored under `name`; undefined when there are none. One statement. */
  getSecret(name: string): Promise<Buffer | undefined>;
  /**
   * Stores `sealed` under `name` unless something is stored there already, and returns what is stored
   * afterwards: of two hubs starting at once, both get the first one's (and use it, dropping theirs).
   */
  putSecretIfAbsent(name: string, sealed: Buffer): Promise<Buffer>;
  /**
   * Stores `sealed` under `name`, replacing what is there (a rotation). On PostgreSQL the other hubs
   * hear of it at commit (change topic `secrets`, pg-changes.ts).
   */
  replaceSecret(name: string, sealed: Buffer): Promise<void>;
  /**
   * Sets a node's k3s bootstrap token secret (claimK3sToken) to `next` only while it is `expected`
   * (a compare-and-set, for sealing a token stored in plaintext by an older hub); false otherwise.
   */
  replaceK3sTokenSecret(nodeId: string, expected: string, next: string): Promise<boolean>;
}
