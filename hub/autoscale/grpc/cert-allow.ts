// The autoscaler client certificates the hub issued and has not revoked: their serials live in the
// store (one setting, shared by the hubs of one datastore), recorded when `atoll-hub autoscaler
// cert` issues one and marked when one is revoked. Every gRPC call's certificate must be on the list
// (a cached copy, re-read every few seconds): a certificate from the hub CA with the autoscaler role
// that was revoked, or never recorded, is refused.
import type { Store } from '../../store/types.js';

export const AUTOSCALER_CERTS_KEY = 'autoscale.grpc.certs';
/** How long a hub trusts its copy of the list: a revocation takes effect within this. */
export const ALLOW_LIST_TTL_MS = 5_000;

export interface IssuedCert {
  issuedAt: string;
  notAfter: string;
  revokedAt: string | null;
}
type Certs = Record<string, IssuedCert>;

/** Serials as certificates print them (upper case, a leading 00) and as the hub issues them compare equal. */
export function normalizeSerial(serial: string): string {
  return serial.toLowerCase().replace(/^0+(?=.)/, '');
}

/** Keeps only certificates not expired (the list stays as small as the certificates in use). */
function live(cur: Certs | undefined, now: number): Certs {
  return Object.fromEntries(Object.entries(cur ?? {}).filter(([, c]) => Date.parse(c.notAfter) > now));
}

export async function recordIssued(
  store: Pick<Store, 'updateSetting'>,
  serial: string,
  notAfter: string,
  now: number,
): Promise<void> {
  await store.updateSetting<Certs>(AUTOSCALER_CERTS_KEY, (cur) => ({
    ...live(cur, now),
    [normalizeSerial(serial)]: { issuedAt: new Date(now).toISOString(), notAfter, revokedAt: null },
  }));
}

/** Revokes one certificate (by serial) or, with null, all of them; answers the serials revoked now. */
export async function revokeIssued(
  store: Pick<Store, 'updateSetting'>,
  serial: string | null,
  now: number,
): Promise<string[]> {
  const want = serial === null ? null : normalizeSerial(serial);
  let revoked: string[] = [];
  await store.updateSetting<Certs>(AUTOSCALER_CERTS_KEY, (cur) => {
    const next = live(cur, now);
    revoked = Object.keys(next).filter((s) => (want === null || s === want) && next[s].revokedAt === null);
    for (const s of revoked) next[s] = { ...next[s], revokedAt: new Date(now).toISOString() };
    return next;
  });
  return revoked;
}

/** The serials allowed now, re-read from the store at most every ALLOW_LIST_TTL_MS. */
export class CertAllowList {
  private cached: { at: number; serials: Set<string> } | undefined;

  constructor(
    private readonly store: Pick<Store, 'getSetting'>,
    private readonly now: () => number = Date.now,
  ) {}

  async allows(serial: string | undefined): Promise<boolean> {
    if (!serial) return false;
    const now = this.now();
    if (!this.cached || now - this.cached.at >= ALLOW_LIST_TTL_MS) {
      const certs = live((await this.store.getSetting<Certs>(AUTOSCALER_CERTS_KEY)) ?? {}, now);
      const serials = new Set(Object.keys(certs).filter((s) => certs[s].revokedAt === null));
      this.cached = { at: now, serials };
    }
    return this.cached.serials.has(normalizeSerial(serial));
  }
}
