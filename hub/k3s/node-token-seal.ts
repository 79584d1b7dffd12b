// Per-node k3s bootstrap tokens are stored sealed (certs/sealed.ts, bound to the node id), as
// "sealed:<base64>" in the token's place. A hub before the cluster secret stored them in plaintext:
// those still work where they are read, and the first start with a cluster secret seals them in
// place, once (a compare-and-set per token, so a token a racing hub changed meanwhile is left alone).
import { seal, unseal, type SealKey } from '../../certs/sealed.js';
import type { Store } from '../store/types.js';
import type { Logger } from '../logger.js';

const PREFIX = 'sealed:';
const PURPOSE = 'k3s-node-token';
/** Set once every plaintext token of an older hub was sealed. */
export const NODE_TOKENS_SEALED_SETTING = 'secrets.k3sNodeTokensSealed';

export function sealNodeToken(key: SealKey, nodeId: string, token: string): string {
  return PREFIX + seal(key, PURPOSE, nodeId, token).toString('base64');
}

/** The token itself; one stored in plaintext (by an older hub) is returned as it is. */
export function openNodeToken(key: SealKey, nodeId: string, stored: string): string {
  if (!stored.startsWith(PREFIX)) return stored;
  return unseal(key, PURPOSE, nodeId, Buffer.from(stored.slice(PREFIX.length), 'base64')).toString('utf8');
}

/** Seals the plaintext tokens an older hub stored; runs its loop only on the first start that needs it. */
export async function sealPlaintextNodeTokens(store: Store, key: SealKey, log: Logger): Promise<number> {
  if (await store.getSetting<boolean>(NODE_TOKENS_SEALED_SETTING)) return 0;
  let sealed = 0;
  // Tokens are kept per node, and a node's token outlives no node (deleteNodeK3s on removal); removed
  // nodes whose purge is pending keep theirs until it finishes, so they are sealed too.
  const ids = new Set([
    ...(await store.listNodes()).map((n) => n.id),
    ...(await store.listPendingPurges()).map((p) => p.id),
  ]);
  for (const nodeId of ids) {
    const creds = await store.getK3sToken(nodeId);
    if (!creds || creds.token.startsWith(PREFIX)) continue;
    if (await store.replaceK3sTokenSecret(nodeId, creds.token, sealNodeToken(key, nodeId, creds.token))) sealed++;
  }
  await store.setSetting(NODE_TOKENS_SEALED_SETTING, true);
  if (sealed)
    log.info({ component: 'k3s', sealed }, 'sealed the k3s bootstrap tokens an older hub stored in plaintext');
  return sealed;
}
