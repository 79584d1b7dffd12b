// Node certificate renewal, bounded. A node gets a new certificate only inside its renewal window
// (from half of the current certificate's lifetime on; the agent asks at two thirds), holds at most
// one spare (issued, not yet used): the same key asking again gets that same certificate, another key
// is refused until the spare is old enough to be written off. When the agent connects with the new
// certificate, the ones it replaces are revoked. A renewal that lands while the node is being removed
// is stored revoked. One renewal per node at a time; the signing (~30 ms of CPU) happens only after
// every cheap check passed, so a flood of requests costs the hub almost nothing.
import type { CaMaterial } from '../../certs/ca.js';
import { issueClientCertForKey } from '../../certs/issue.js';
import { verifyCsr, type VerifiedCsr } from '../../certs/csr.js';
import { verifyIssuedBy } from '../../certs/inspect.js';
import { certKeySha256, publicKeySha256 } from '../../certs/key-id.js';
import { CertError } from '../../certs/errors.js';
import type { CertRecord, NodeCertRecord, Store } from '../store/types.js';
import { StoreError } from '../store/types.js';
import type { EventLog } from '../events.js';
import type { Logger } from '../logger.js';
import { HubError } from '../errors.js';
import { createRateLimiter, type RateLimiter } from '../gateway/rate-limit.js';

export interface CertRenewalOptions {
  store: Store;
  ca: CaMaterial;
  events: EventLog;
  logger: Logger;
  /** Lifetime of the certificates issued (--node-cert-ttl). */
  ttlMs: number;
  /** How long after expiry a node may still recover over HTTPS with its own key (default 30 days). */
  expiredGraceMs?: number;
  /** Renewal requests allowed per node (default: a burst of 5, then 6 a minute). */
  rateLimit?: { perMinute: number; burst: number };
  now?: () => number;
}

export type RenewReply = { certPem: string } | { errorCode: string; message: string };

/** The window opens at this fraction of the lifetime (the agent asks at 2/3; the slack absorbs clock skew). */
export const RENEW_WINDOW_FRACTION = 0.5;
export const DEFAULT_EXPIRED_GRACE_MS = 30 * 24 * 3600_000;
/** A spare nobody picked up is written off (revoked and replaced) after this long. */
const MAX_SPARE_HOLD_MS = 10 * 60_000;
const COMMAND_LOOKBACK = 20;
/** An agent asks once per lifetime, and retries with backoff: this bounds what a misbehaving one costs. */
const DEFAULT_RATE_LIMIT = { perMinute: 6, burst: 5 };

const issuedAtOf = (c: { issuedAt?: string; notBefore: string }): number => Date.parse(c.issuedAt ?? c.notBefore);

/** When renewal of this certificate becomes allowed. */
export function renewWindowOpensAt(c: { issuedAt?: string; notBefore: string; notAfter: string }): number {
  const start = issuedAtOf(c);
  return start + (Date.parse(c.notAfter) - start) * RENEW_WINDOW_FRACTION;
}

export class CertRenewal {
  /** Nodes with a renewal being processed now (one at a time per node). */
  private readonly busy = new Set<string>();
  private readonly now: () => number;
  readonly expiredGraceMs: number;
  private readonly spareHoldMs: number;
  private readonly limiter: RateLimiter;

  constructor(private readonly opts: CertRenewalOptions) {
    this.now = opts.now ?? Date.now;
    this.limiter = createRateLimiter({ ...(opts.rateLimit ?? DEFAULT_RATE_LIMIT), now: this.now });
    this.expiredGraceMs = opts.expiredGraceMs ?? DEFAULT_EXPIRED_GRACE_MS;
    this.spareHoldMs = Math.min(MAX_SPARE_HOLD_MS, Math.max(1000, opts.ttlMs / 4));
  }

  /** A renewal over the agent's link (it authenticated with certificate `cert`). Never throws. */
  async overLink(nodeId: string, cert: CertRecord, csrPem: string): Promise<RenewReply> {
    // The cheap refusals first: no lock, no CSR parsing, no store read (but for a rotation check);
    // a node over its rate gets its answer without even an exception being built.
    const wait = this.limiter.take(nodeId);
    if (wait !== true) return { errorCode: 'RATE_LIMITED', message: rateMessage(nodeId, wait) };
    try {
      await this.checkWindow(nodeId, cert, 'link');
      return { certPem: await this.renew(nodeId, cert.serial, csrPem, 'link') };
    } catch (err) {
      const e = toReplyError(err);
      if (e.errorCode === 'INTERNAL' || e.errorCode === 'STORE_UNAVAILABLE')
        this.opts.logger.error({ nodeId, err }, 'certificate renewal failed');
      else this.opts.logger.info({ nodeId, code: e.errorCode, reason: e.message }, 'certificate renewal refused');
      return e;
    }
  }

  /**
   * Recovery over HTTPS for a node whose certificate expired (or is about to): `certPem` is that
   * certificate (issued by this CA, recorded for the node, not revoked, expired less than the grace
   * ago) and the CSR must carry the same key: its self-signature proves the caller holds that key.
   * Throws HubError.
   */
  async recover(certPem: string, csrPem: string): Promise<{ nodeId: string; certPem: string }> {
    let info;
    try {
      // Signature only: an expired certificate is what this route is for (its age is checked below).
      info = verifyIssuedBy(certPem, this.opts.ca.certPem, new Date(this.now()), Number.POSITIVE_INFINITY);
    } catch (err) {
      throw new HubError('UNAUTHORIZED', `the certificate is not one of this hub's: ${(err as Error).message}`);
    }
    const nodeId = info.subjectCN;
    if (!(await this.opts.store.getNode(nodeId)))
      throw new HubError('NODE_REMOVED', `node ${nodeId} was removed from this hub; join again with a token`);
    const csr = parseCsr(csrPem, nodeId);
    if (publicKeySha256(csr.publicKeyPem) !== certKeySha256(certPem)) {
      throw new HubError(
        'CSR_INVALID',
        "the CSR does not carry the key of the certificate: recovery needs the node's own key (join again with a token if it is lost)",
      );
    }
    // Counted against the node's renewal budget only once the caller proved it holds the node's key:
    // a certificate alone (not a secret) must not let anyone use up the node's renewals.
    this.limit(nodeId);
    return { nodeId, certPem: await this.renew(nodeId, info.serial, csr, 'recovery') };
  }

  /** The agent connected with certificate `serial` for the first time: revoke what it replaces. */
  async inUse(nodeId: string, serial: string): Promise<void> {
    try {
      const revoked = await this.opts.store.markCertUsed(serial, new Date(this.now()).toISOString());
      if (revoked.length) {
        await this.opts.events.note({
          type: 'node.cert-replaced',
          nodeId,
          actor: `node:${nodeId}`,
          message: `node connected with certificate ${serial}; ${revoked.length} older certificate(s) revoked`,
          data: { serial, revoked },
        });
      }
    } catch (err) {
      // Not fatal: the next first-use of a newer certificate revokes these too.
      this.opts.logger.warn({ nodeId, err: (err as Error).message }, 'could not record certificate use');
    }
  }

  private async renew(
    nodeId: string,
    serial: string,
    csrIn: string | VerifiedCsr,
    via: 'link' | 'recovery',
  ): Promise<string> {
    if (this.busy.has(nodeId))
      throw new HubError('RENEW_IN_PROGRESS', 'a renewal of this node is being processed; wait for its answer');
    this.busy.add(nodeId);
    try {
      const now = this.now();
      const certs = await this.opts.store.listNodeCerts(nodeId);
      const current = certs.find((c) => c.serial === serial);
      if (!current) throw new HubError('UNAUTHORIZED', `certificate ${serial} is unknown to this hub`);
      if (current.revokedAt)
        throw new HubError('CERT_REVOKED', `certificate ${serial} was revoked at ${current.revokedAt}`);
      const notAfter = Date.parse(current.notAfter);
      if (via === 'recovery' && now > notAfter + this.expiredGraceMs) {
        throw new HubError(
          'CERT_EXPIRED_BEYOND_GRACE',
          `the certificate expired at ${current.notAfter}, longer ago than the recovery grace (${graceText(this.expiredGraceMs)}): join this machine again with a token (atoll-agent join --token T); it keeps its node id`,
          { nodeId },
        );
      }
      await this.checkWindow(nodeId, current, via);
      const csr = typeof csrIn === 'string' ? parseCsr(csrIn, nodeId) : csrIn;
      const keyHash = publicKeySha256(csr.publicKeyPem);
      const spares = certs.filter(
        (c) =>
          c.serial !== serial &&
          !c.revokedAt &&
          !c.usedAt &&
          issuedAtOf(c) >= issuedAtOf(current) &&
          Date.parse(c.notAfter) > now,
      );
      const same = spares.find((c) => c.publicKeySha256 === keyHash && c.certPem);
      // The same key asking again (its answer was lost): the same certificate, nothing new is minted.
      if (same?.certPem) return same.certPem;
      const held = spares.find((c) => now - issuedAtOf(c) < this.spareHoldMs);
      if (held) {
        throw new HubError(
          'RENEW_PENDING',
          `certificate ${held.serial} issued at ${held.issuedAt ?? held.notBefore} for another key has not been used yet; ask again with that key, or after ${new Date(issuedAtOf(held) + this.spareHoldMs).toISOString()}`,
        );
      }
      return await this.issue(
        nodeId,
        csr,
        keyHash,
        current,
        spares.map((c) => c.serial),
        via,
        now,
      );
    } finally {
      this.busy.delete(nodeId);
    }
  }

  private async issue(
    nodeId: string,
    csr: VerifiedCsr,
    keyHash: string,
    current: NodeCertRecord,
    writeOff: string[],
    via: string,
    now: number,
  ): Promise<string> {
    const issued = issueClientCertForKey(this.opts.ca, csr.publicKeyPem, {
      commonName: nodeId,
      organization: 'atoll:nodes',
      validityMs: this.opts.ttlMs,
    });
    const nowIso = new Date(now).toISOString();
    const outcome = await this.opts.store.issueNodeCert(
      {
        serial: issued.serial,
        nodeId,
        notBefore: issued.notBefore.toISOString(),
        notAfter: issued.notAfter.toISOString(),
        fingerprint: issued.fingerprint,
        revokedAt: null,
        issuedAt: nowIso,
        publicKeySha256: keyHash,
        certPem: issued.certPem,
      },
      nowIso,
      writeOff,
    );
    if (outcome === 'node-missing')
      throw new HubError('NODE_REMOVED', `node ${nodeId} was removed; the certificate issued meanwhile is revoked`);
    await this.opts.events.note({
      type: 'node.cert-renewed',
      nodeId,
      actor: `node:${nodeId}`,
      message: `client certificate renewed until ${issued.notAfter.toISOString()}${via === 'recovery' ? ' (recovery over HTTPS)' : ''}`,
      data: { serial: issued.serial, replaces: current.serial, via, writtenOff: writeOff },
    });
    return issued.certPem;
  }

  private limit(nodeId: string): void {
    const wait = this.limiter.take(nodeId);
    if (wait !== true) throw new HubError('RATE_LIMITED', rateMessage(nodeId, wait));
  }

  /**
   * An ordered rotation opens the window early over the agent's link only: rotate-cert is what an
   * operator orders when a key may have leaked, so recovery over HTTPS (which anyone holding the old
   * key can call) must not get a fresh certificate out of it.
   */
  private async checkWindow(nodeId: string, cert: CertRecord, via: 'link' | 'recovery'): Promise<void> {
    const opens = renewWindowOpensAt(cert);
    if (this.now() >= opens) return;
    if (via !== 'link' || !(await this.rotationRequested(nodeId, issuedAtOf(cert)))) {
      throw new HubError(
        'RENEW_TOO_EARLY',
        `renewal of certificate ${cert.serial} opens at ${new Date(opens).toISOString()} (half of its lifetime)`,
      );
    }
  }

  /** An operator's rotate-cert command for this node, newer than its current certificate, opens the window early. */
  private async rotationRequested(nodeId: string, since: number): Promise<boolean> {
    const recent = await this.opts.store.listCommands(nodeId, COMMAND_LOOKBACK);
    return recent.some((c) => c.action === 'rotate-cert' && Date.parse(c.createdAt) > since);
  }
}

function graceText(ms: number): string {
  return ms >= 86_400_000 ? `${Math.round(ms / 86_400_000)} days` : `${Math.round(ms / 1000)} s`;
}

function rateMessage(nodeId: string, waitMs: number): string {
  return `too many renewal requests from node ${nodeId}; retry in ${Math.ceil(waitMs / 1000)}s`;
}

function parseCsr(csrPem: string, nodeId: string): VerifiedCsr {
  try {
    const csr = verifyCsr(csrPem);
    if (csr.commonName !== nodeId)
      throw new CertError(
        'CSR_SUBJECT_MISMATCH',
        `the CSR's common name ${JSON.stringify(csr.commonName)} is not the node id ${nodeId}`,
      );
    return csr;
  } catch (err) {
    if (err instanceof CertError)
      throw new HubError('CSR_INVALID', `certificate request refused: ${err.message}`, { reason: err.code });
    throw err;
  }
}

function toReplyError(err: unknown): { errorCode: string; message: string } {
  if (err instanceof HubError) return { errorCode: err.code, message: err.message };
  if (err instanceof StoreError)
    return {
      errorCode: err.code === 'DISK_FULL' ? 'DISK_FULL' : 'STORE_UNAVAILABLE',
      message: `the hub could not store the renewal: ${err.message}; retry later`,
    };
  return { errorCode: 'INTERNAL', message: `renewal failed on the hub: ${(err as Error).message}` };
}
