// What the link dials with: the node's identity (its certificate renewed over the link, or recovered
// over HTTPS once it expired) and the TLS session to resume.
import type { Identity } from './identity.js';
import type { Logger } from './logger.js';
import { tryRecovery } from './cert-recovery.js';
import { STUCK_RETRY_MS } from './link-types.js';

/** After a recovery attempt: dial, stop for good (the node was removed), or retry after a delay. */
export type RecoveryStep = { dial: true } | { removed: string } | { retry: string; minDelayMs: number };

export class LinkCredentials {
  private tlsSession?: Buffer;
  /** Recover the certificate over HTTPS before the next connect (the hub said it expired). */
  private needsRecovery = false;
  /** The hub disagreed that our certificate expired: our clock is off, do not judge by it. */
  private trustHubClock = false;

  constructor(
    private readonly dataDir: string,
    private current: Identity,
    private readonly log: Logger,
  ) {}

  get identity(): Identity {
    return this.current;
  }

  /** The TLS session to resume on the next dial, if any. */
  get session(): Buffer | undefined {
    return this.tlsSession;
  }

  keepSession(session: Buffer | undefined): void {
    this.tlsSession = session;
  }

  /** An expired certificate cannot pass TLS: it is to be recovered over HTTPS before the next dial. */
  mustRecover(): boolean {
    const expired = !this.trustHubClock && this.current.notAfter.getTime() <= Date.now();
    return this.needsRecovery || expired;
  }

  /** The hub said the certificate expired (by its clock): recover it before the next dial. */
  expired(): void {
    this.needsRecovery = true;
  }

  /** A renewed certificate; the old session carries the old certificate. */
  renewed(identity: Identity): void {
    this.current = identity;
    this.tlsSession = undefined;
  }

  /** Recovers the certificate over HTTPS (with the node's own key). */
  async recover(): Promise<RecoveryStep> {
    this.log.warn(
      { notAfter: this.current.notAfter.toISOString() },
      'the client certificate has expired; recovering it over HTTPS',
    );
    const r = await tryRecovery(this.dataDir, this.current);
    this.needsRecovery = false;
    if ('identity' in r) {
      this.renewed(r.identity);
      this.log.info({ notAfter: this.current.notAfter.toISOString() }, 'client certificate recovered');
      return { dial: true };
    }
    if (r.removed) return { removed: r.reason };
    // The hub says it has not expired: our clock is off; connect and let the hub judge.
    if (r.clockOff) this.trustHubClock = true;
    if (r.stuck) this.log.error({ reason: r.reason }, 'the hub will not renew this certificate');
    return { retry: r.reason, minDelayMs: r.stuck ? STUCK_RETRY_MS : 0 };
  }
}
