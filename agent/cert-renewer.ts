// Renewal of the agent's client certificate over the hub link, until it succeeds. It starts at two
// thirds of the certificate's life (or when an operator asks), sends a CSR, and waits a bounded time
// for the answer. No answer (the hub paused, the reply lost), an error answer, or a link that drops
// in between all lead to another try: with jittered backoff after a failure, at once after a
// reconnect. The key of a pending renewal is kept (in memory and in <data-dir>/renew.key, 0600), so
// every retry asks for the same key and the hub answers with the certificate it may already have
// issued, instead of minting another. A failure to store the new certificate (a full disk) is
// logged and retried later; it never takes the agent down.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair } from '../certs/keys.js';
import { createCsr } from '../certs/csr.js';
import { certKeySha256, privateKeySha256 } from '../certs/key-id.js';
import { writeSecretFile } from '../certs/files.js';
import { loadIdentity, saveIdentity, renewDueAt, type Identity } from './identity.js';
import type { Logger } from './logger.js';
import { logFailure } from '../certs/log-failure.js';

export interface CertRenewerOptions {
  dataDir: string;
  logger: Logger;
  identity(): Identity;
  /** Whether a link is up (welcomed) to send a request on. */
  linkUp(): boolean;
  /** Sends a renewal request on the link that is up; false when none is. */
  send(csrPem: string): boolean;
  /** The renewed identity is stored; the link should reconnect with it. */
  renewed(identity: Identity): void;
  now?: () => number;
  random?: () => number;
  /** How long to wait for the hub's answer (default: a tenth of the lifetime, 2 s to 30 s). */
  replyTimeoutMs?: number;
  /** Wake up at the due time by itself (default); off, only maybeRenew() calls try (tests drive the clock). */
  wakeUp?: boolean;
}

export interface RenewalStatus {
  state: 'idle' | 'waiting-reply';
  attempts: number;
  lastError: string | null;
  nextTryAt: string | null;
}

const PENDING_KEY = 'renew.key';

/** Backoff bounds scale with the lifetime, so short test lifetimes and 30-day ones both work. */
function backoffBounds(lifetimeMs: number): { baseMs: number; maxMs: number } {
  const baseMs = Math.min(30_000, Math.max(1_000, lifetimeMs / 40));
  return { baseMs, maxMs: Math.min(15 * 60_000, Math.max(baseMs, lifetimeMs / 10)) };
}

export class CertRenewer {
  private waiting = false;
  private attempts = 0;
  private nextTryAt = 0;
  private lastError: string | null = null;
  private replyTimer?: NodeJS.Timeout;
  /** Wakes the renewer when it is due (or its backoff ends), besides the report ticks. */
  private wakeTimer?: NodeJS.Timeout;
  private pendingKey?: string;
  private starting = false;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly log: Logger;

  constructor(private readonly opts: CertRenewerOptions) {
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.log = opts.logger.child({ component: 'renew' });
  }

  /**
   * Arms the wake-up timer for the next moment renewal may start (due time, or the end of a
   * backoff). While no link is up it stays unarmed: the next welcome arms it again.
   */
  arm(minDelayMs = 0): void {
    clearTimeout(this.wakeTimer);
    if (this.waiting || !this.opts.linkUp() || this.opts.wakeUp === false) return;
    const at = Math.max(renewDueAt(this.opts.identity()), this.nextTryAt);
    // setTimeout holds at most ~24.8 days; a longer wait wakes early, finds nothing due and re-arms.
    const delay = Math.min(2 ** 31 - 1, Math.max(minDelayMs, at - this.now()));
    this.wakeTimer = setTimeout(
      () =>
        this.maybeRenew()
          .catch(logFailure(this.opts.logger, 'renewing the certificate'))
          .finally(() => this.arm(1_000)),
      delay,
    );
    this.wakeTimer.unref();
  }

  status(): RenewalStatus {
    return {
      state: this.waiting ? 'waiting-reply' : 'idle',
      attempts: this.attempts,
      lastError: this.lastError,
      nextTryAt: this.nextTryAt ? new Date(this.nextTryAt).toISOString() : null,
    };
  }

  /** Called on every report tick and after each welcome: asks when due (or forced) and not backing off. */
  async maybeRenew(force = false): Promise<void> {
    if (this.waiting || this.starting || !this.opts.linkUp()) return;
    const now = this.now();
    if (!force && (now < renewDueAt(this.opts.identity()) || now < this.nextTryAt)) return;
    this.starting = true;
    try {
      const id = this.opts.identity();
      const key = await this.key(id);
      if (!this.opts.send(createCsr(key, id.nodeId))) return; // no link: the next welcome tries again
      this.waiting = true;
      this.log.info(
        { notAfter: id.notAfter.toISOString(), attempt: this.attempts + 1 },
        'renewing the client certificate',
      );
      clearTimeout(this.replyTimer);
      this.replyTimer = setTimeout(
        () => {
          this.waiting = false;
          this.failed('the hub did not answer the renewal request in time');
          this.arm();
        },
        this.opts.replyTimeoutMs ?? Math.min(30_000, Math.max(2_000, lifetimeOf(id) / 10)),
      );
      this.replyTimer.unref();
    } catch (err) {
      this.failed(`could not start the renewal: ${(err as Error).message}`);
    } finally {
      this.starting = false;
    }
  }

  /** The link dropped: a request in flight will not be answered; ask again right after the reconnect. */
  linkDown(): void {
    if (!this.waiting) return;
    clearTimeout(this.replyTimer);
    this.waiting = false;
    this.nextTryAt = 0;
    this.attempts = 0;
  }

  /** The hub's answer. A late one (after a timeout) still counts when it is for our key. */
  onReply(certPem: string, errorCode: string, message: string): void {
    clearTimeout(this.replyTimer);
    const wasWaiting = this.waiting;
    this.waiting = false;
    if (!certPem) {
      // A late refusal (after the timeout already counted a failure) is not another failure.
      if (wasWaiting) this.failed(`the hub refused: ${errorCode || 'UNKNOWN'} ${message}`.trim());
      this.arm();
      return;
    }
    const key = this.pendingKey;
    if (!key || certKeySha256(certPem) !== privateKeySha256(key)) {
      this.log.warn('the renewed certificate is not for the key this agent asked with; ignoring it');
      return;
    }
    const id = this.opts.identity();
    let saved: Identity;
    try {
      const { nodeId, nodeName, pool, hubUrl, joinedAt, k3s } = id;
      saveIdentity(this.opts.dataDir, { nodeId, nodeName, pool, hubUrl, joinedAt, k3s }, { keyPem: key, certPem });
      saved = loadIdentity(this.opts.dataDir);
    } catch (err) {
      // A full disk: keep the key, the hub keeps the certificate for it; try again later.
      this.failed(`could not store the renewed certificate: ${(err as Error).message}`);
      this.arm();
      return;
    }
    this.pendingKey = undefined;
    rmSync(join(this.opts.dataDir, PENDING_KEY), { force: true });
    this.attempts = 0;
    this.nextTryAt = 0;
    this.lastError = null;
    this.log.info({ notAfter: saved.notAfter.toISOString() }, 'client certificate renewed');
    this.opts.renewed(saved);
    this.arm();
  }

  stop(): void {
    clearTimeout(this.replyTimer);
    clearTimeout(this.wakeTimer);
  }

  private failed(reason: string): void {
    const { baseMs, maxMs } = backoffBounds(lifetimeOf(this.opts.identity()));
    const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(this.attempts, 20));
    const delay = Math.round(ceiling / 2 + this.random() * (ceiling / 2));
    this.attempts++;
    this.nextTryAt = this.now() + delay;
    this.lastError = reason;
    this.log.warn({ reason, attempt: this.attempts, retryInMs: delay }, 'certificate renewal failed; will retry');
  }

  /** The pending renewal's key: kept across retries and restarts, made (and stored, best effort) once. */
  private async key(id: Identity): Promise<string> {
    if (this.pendingKey) return this.pendingKey;
    const path = join(this.opts.dataDir, PENDING_KEY);
    if (existsSync(path)) {
      try {
        const stored = readFileSync(path, 'utf8');
        // A leftover of a renewal that completed is the current key: not a pending one.
        if (privateKeySha256(stored) !== certKeySha256(id.certPem)) {
          this.pendingKey = stored;
          return stored;
        }
      } catch {
        // unreadable: make a new one
      }
    }
    const { privateKeyPem } = await generateKeyPair();
    this.pendingKey = privateKeyPem;
    try {
      writeSecretFile(path, privateKeyPem);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not store the renewal key; keeping it in memory');
    }
    return privateKeyPem;
  }
}

function lifetimeOf(id: Pick<Identity, 'notBefore' | 'notAfter' | 'certReceivedAt'>): number {
  const received = id.certReceivedAt ? Date.parse(id.certReceivedAt) : NaN;
  const start = Number.isFinite(received) ? received : id.notBefore.getTime();
  return Math.max(1_000, id.notAfter.getTime() - start);
}
