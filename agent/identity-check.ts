// Before `atoll-agent join` keeps an identity it already has, it asks whether that identity is still
// good for the hub the new token is for: a node the hub removed (or whose certificate it no longer
// knows), or one joined to another hub (another CA), is joined again with the token instead.
import { caPin } from '../certs/pin.js';
import { httpsCall, errorMessage } from './hub-http.js';
import type { Identity } from './identity.js';

export type IdentityVerdict =
  /** The hub accepts it: keep it, do not use the token. */
  | { kind: 'current' }
  /** The hub refuses it (removed, revoked, unknown, expired): join again. */
  | { kind: 'rejected'; why: string }
  /** It is from another hub (another CA than the token's pin): join again. */
  | { kind: 'foreign'; why: string }
  /** The hub could not be asked: keep it (a network hiccup must not cost the node its identity). */
  | { kind: 'unknown'; why: string };

export async function checkIdentity(
  id: Identity,
  hubUrl: string,
  tokenCaPin: string,
  timeoutMs = 15_000,
): Promise<IdentityVerdict> {
  const own = caPin(id.caPem);
  if (own !== tokenCaPin)
    return {
      kind: 'foreign',
      why: `it was joined to ${id.hubUrl} (CA sha256 ${own}); the token is for the CA ${tokenCaPin}`,
    };
  try {
    const res = await httpsCall(`${hubUrl}/v1/agent/whoami`, {
      ca: id.caPem,
      cert: id.certPem,
      key: id.keyPem,
      timeoutMs,
    });
    if (res.status === 200) return { kind: 'current' };
    const e = errorMessage(res.body);
    if (res.status === 401 || res.status === 403) return { kind: 'rejected', why: `${e.code}: ${e.message}` };
    return { kind: 'unknown', why: `HTTP ${res.status} ${e.code}: ${e.message}` };
  } catch (err) {
    return { kind: 'unknown', why: (err as Error).message };
  }
}
