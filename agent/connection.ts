// The agent's link to the hub: an mTLS WebSocket carrying protobuf envelopes. It reconnects with
// capped, jittered exponential backoff; sends hello, health on the interval the hub gives, and
// answers pings; notices a silent hub within two intervals; renews its certificate from 2/3 of its life (cert-renewer.ts).
import WebSocket from 'ws';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import {
  decodeFrame,
  encodeFrame,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  ProtocolError,
  type Envelope,
  type Frame,
} from '../proto/index.js';
import { loadIdentity, type Identity } from './identity.js';
import { CertRenewer } from './cert-renewer.js';
import { tryRecovery } from './cert-recovery.js';
import type { Logger } from './logger.js';
import { backoffDelay, STUCK_RETRY_MS, type ConnectionOptions, type LinkState, type LinkStatus } from './link-types.js';
import { readRefusal } from './link-refusal.js';
import { collectFacts } from './facts.js';
import { CommandExecutor } from './commands/executor.js';
import { logFailure } from '../certs/log-failure.js';
import { clampText, LIMITS } from '../proto/index.js';

export {
  backoffDelay,
  type CommandHandler,
  type ConnectionOptions,
  type LinkState,
  type LinkStatus,
} from './link-types.js';

export class HubConnection {
  private ws?: WebSocket;
  private identity: Identity;
  private attempt = 0;
  private stopped = false;
  private nextId = 1;
  private intervalMs = 10_000;
  private reportTimer?: NodeJS.Timeout;
  private watchdog?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private lastInbound = 0;
  /** Recover the certificate over HTTPS before the next connect (the hub said it expired). */
  private needsRecovery = false;
  /** The hub disagreed that our certificate expired: our clock is off, do not judge by it. */
  private trustHubClock = false;
  private tlsSession?: Buffer;
  private readonly commands: CommandExecutor;
  private readonly renewer: CertRenewer;
  private readonly log: Logger;
  private status: LinkStatus = {
    state: 'connecting',
    since: new Date().toISOString(),
    lastError: null,
    connectedAt: null,
    heartbeatIntervalMs: 10_000,
    reconnects: 0,
  };

  constructor(private readonly opts: ConnectionOptions) {
    this.identity = loadIdentity(opts.dataDir);
    this.log = opts.logger.child({ component: 'link', nodeId: this.identity.nodeId });
    this.commands = new CommandExecutor({ dataDir: opts.dataDir, logger: this.log, handler: opts.onCommand });
    this.renewer = new CertRenewer({
      dataDir: opts.dataDir,
      logger: this.log,
      random: opts.random,
      identity: () => this.identity,
      linkUp: () => this.status.state === 'connected',
      send: (csrPem) => this.send({ certRenewRequest: { csrPem } }),
      renewed: (id) => this.onRenewed(id),
    });
  }

  get nodeId(): string {
    return this.identity.nodeId;
  }

  start(): void {
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.renewer.stop();
    clearTimeout(this.retryTimer);
    this.clearTimers();
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.send({ close: { code: 'AGENT_STOPPING', reason: 'the agent is shutting down' } });
      this.ws.close(1000);
    } else {
      this.ws?.terminate();
    }
    this.setStatus('stopped', null);
  }

  private setStatus(state: LinkState, error: string | null): void {
    this.status = {
      ...this.status,
      state,
      since: new Date().toISOString(),
      lastError: error ?? (state === 'connected' ? null : this.status.lastError),
    };
    if (state === 'connected') this.status.connectedAt = this.status.since;
    this.opts.onStatus?.(this.status);
  }

  private connect(): void {
    if (this.stopped) return;
    // An expired certificate cannot pass TLS: recover it over HTTPS first (with the node's own key).
    const expired = !this.trustHubClock && this.identity.notAfter.getTime() <= Date.now();
    if (this.needsRecovery || expired) {
      this.recover().catch(logFailure(this.log, 'recovering an expired certificate'));
      return;
    }
    this.setStatus('connecting', null);
    const url = `${this.identity.hubUrl.replace(/^https:/, 'wss:')}/v1/agent/connect`;
    const ws = new WebSocket(url, {
      cert: this.identity.certPem,
      key: this.identity.keyPem,
      ca: this.identity.caPem,
      minVersion: 'TLSv1.2',
      maxPayload: MAX_FRAME_BYTES,
      perMessageDeflate: false,
      handshakeTimeout: 10_000,
      // Resume the last TLS session when the hub still knows it (cheaper reconnect storms).
      ...(this.tlsSession ? { session: this.tlsSession } : {}),
    });
    this.ws = ws;
    ws.on('upgrade', (res: IncomingMessage) => {
      const sock = res.socket as TLSSocket;
      const keep = (s: Buffer): void => {
        this.tlsSession = s;
      };
      sock.on('session', keep);
      const s = sock.getSession();
      if (s) keep(s);
    });
    ws.binaryType = 'nodebuffer';
    ws.on('open', () => {
      this.lastInbound = Date.now();
      this.send({
        hello: {
          nodeId: this.identity.nodeId,
          agentVersion: this.opts.agentVersion,
          facts: collectFacts(),
          completedCommandIds: this.commands.completedIds().slice(-50),
          k3sMode: this.opts.k3sMode,
        },
      });
      this.armWatchdog();
    });
    ws.on('unexpected-response', (_req, res: IncomingMessage) => {
      readRefusal(res)
        .then(({ status, code, message }) => {
          ws.terminate();
          // A refused session must not be resumed again: the next try makes a full handshake.
          this.tlsSession = undefined;
          // A revoked certificate of a node that lives on: this is a stale copy of the identity.
          if (code === 'CERT_REVOKED' || code === 'IDENTITY_IN_USE') this.conflict(`${code}: ${message}`);
          else if (status === 403) this.removed(message || code);
          else {
            // Expired (by the hub's clock): recover over HTTPS before the next try.
            if (status === 401 && /expired/.test(message)) this.needsRecovery = true;
            this.scheduleReconnect(`hub refused the connection: ${code} ${message}`.trim());
          }
        })
        .catch(logFailure(this.log, 'reading a refusal'));
    });
    ws.on('message', (data: Buffer) => this.onMessage(data));
    ws.on('close', (code: number, reason: Buffer) => {
      if (this.ws !== ws) return;
      this.clearTimers();
      this.scheduleReconnect(`connection closed (${code}${reason.length ? ` ${reason.toString()}` : ''})`);
    });
    ws.on('error', (err: Error) => {
      if (this.ws !== ws) return;
      this.clearTimers();
      ws.terminate();
      this.scheduleReconnect(err.message);
    });
  }

  private async recover(): Promise<void> {
    this.setStatus('connecting', null);
    this.log.warn(
      { notAfter: this.identity.notAfter.toISOString() },
      'the client certificate has expired; recovering it over HTTPS',
    );
    const r = await tryRecovery(this.opts.dataDir, this.identity);
    this.needsRecovery = false;
    if ('identity' in r) {
      this.identity = r.identity;
      this.tlsSession = undefined;
      this.log.info({ notAfter: this.identity.notAfter.toISOString() }, 'client certificate recovered');
      this.connect();
    } else if (r.removed) {
      this.removed(r.reason);
    } else {
      // The hub says it has not expired: our clock is off; connect and let the hub judge.
      if (r.clockOff) this.trustHubClock = true;
      if (r.stuck) this.log.error({ reason: r.reason }, 'the hub will not renew this certificate');
      this.scheduleReconnect(r.reason, r.stuck ? STUCK_RETRY_MS : 0);
    }
  }

  private removed(reason: string): void {
    this.end('removed', reason, 'the hub removed this node; not reconnecting (join again with a new token)');
  }

  /** Another machine holds this node identity (a clone, a copied data dir): stop, do not flap. */
  private conflict(reason: string): void {
    this.end(
      'identity-conflict',
      reason,
      'another machine holds this node identity; not reconnecting (re-join this machine: atoll-agent join --token T --force)',
    );
  }

  private end(state: 'removed' | 'identity-conflict', reason: string, what: string): void {
    if (this.status.state === 'removed' || this.status.state === 'identity-conflict') return;
    this.log.error({ reason }, what);
    this.stopped = true;
    this.clearTimers();
    this.status.lastError = reason;
    this.setStatus(state, reason);
    // Wind down first (stop k3s), then hang up: the hub waits for that before it deletes the
    // Kubernetes node, so a still-running kubelet cannot register it again.
    const ws = this.ws;
    Promise.resolve(this.opts.onEnded?.(state, reason))
      .catch(logFailure(this.log, 'winding down'))
      .then(() => {
        if (ws && ws.readyState === WebSocket.OPEN) ws.close(1000, state);
        else ws?.terminate();
        this.opts.onGone?.(state);
      })
      .catch(logFailure(this.log, 'hanging up'));
  }

  private scheduleReconnect(reason: string, minDelayMs = 0): void {
    if (this.stopped) return;
    if (this.retryTimer) return;
    const delay = Math.max(
      minDelayMs,
      backoffDelay(
        this.attempt++,
        this.opts.reconnectBaseMs ?? 500,
        this.opts.reconnectMaxMs ?? 30_000,
        this.opts.random,
      ),
    );
    this.status.reconnects++;
    this.log.warn({ reason, retryInMs: delay }, 'hub link down; reconnecting');
    this.setStatus('backoff', reason);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect();
    }, delay);
  }

  private clearTimers(): void {
    // Every path that ends a link comes here: a renewal in flight will get no answer on it.
    this.renewer.linkDown();
    clearInterval(this.reportTimer);
    clearInterval(this.watchdog);
    this.reportTimer = undefined;
    this.watchdog = undefined;
  }

  private armWatchdog(): void {
    clearInterval(this.watchdog);
    // A half-open link (hub gone without a FIN) is noticed within about two intervals.
    this.watchdog = setInterval(
      () => {
        if (Date.now() - this.lastInbound > 2 * this.intervalMs + 1000) {
          this.log.warn({ silentMs: Date.now() - this.lastInbound }, 'hub silent for two heartbeat intervals');
          const ws = this.ws;
          this.clearTimers();
          ws?.terminate();
          this.scheduleReconnect('heartbeat timeout');
        }
      },
      Math.max(250, Math.floor(this.intervalMs / 2)),
    );
    this.watchdog.unref();
  }

  send(payload: Omit<Envelope, 'protocolVersion' | 'messageId' | 'sentAtMs'>): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(
      encodeFrame({ protocolVersion: PROTOCOL_VERSION, messageId: this.nextId++, sentAtMs: Date.now(), ...payload }),
    );
    return true;
  }

  private onMessage(data: Buffer): void {
    let frame: Frame;
    try {
      frame = decodeFrame(data);
    } catch (err) {
      const code = err instanceof ProtocolError ? err.code : 'FRAME_MALFORMED';
      this.log.warn({ code }, 'bad frame from hub; closing the link');
      this.send({ close: { code, reason: (err as Error).message } });
      this.ws?.close(1002, code);
      return;
    }
    this.lastInbound = Date.now();
    switch (frame.payload) {
      case 'welcome': {
        this.attempt = 0;
        this.intervalMs = Math.max(100, frame.welcome?.heartbeatIntervalMs ?? 10_000);
        this.status.heartbeatIntervalMs = this.intervalMs;
        this.setStatus('connected', null);
        this.log.info({ hub: this.identity.hubUrl, intervalMs: this.intervalMs }, 'connected to the hub');
        this.armWatchdog();
        this.renewer.arm();
        this.report().catch(logFailure(this.log, 'reporting health'));
        clearInterval(this.reportTimer);
        this.reportTimer = setInterval(
          () => this.report().catch(logFailure(this.log, 'reporting health')),
          this.intervalMs,
        );
        return;
      }
      case 'ping':
        this.send({ inReplyTo: frame.messageId, pong: { nonce: frame.ping?.nonce ?? 0 } });
        return;
      case 'pong':
        return;
      case 'command':
        this.commands
          .run(frame.command ?? {})
          .then((result) => {
            // Sent on whatever link is up now; if none is, the hub re-sends the command after the reconnect.
            this.send({ commandResult: { ...result, message: clampText(result.message, LIMITS.message.max) } });
          })
          .catch(logFailure(this.log, 'running a command'));
        return;
      case 'k3sAssignment':
        if (frame.k3sAssignment) this.opts.onK3sAssignment?.(frame.k3sAssignment);
        return;
      case 'certRenewResponse':
        this.renewer.onReply(
          frame.certRenewResponse?.certPem ?? '',
          frame.certRenewResponse?.errorCode ?? '',
          frame.certRenewResponse?.message ?? '',
        );
        return;
      case 'close': {
        const code = frame.close?.code ?? '';
        this.log.info({ code, reason: frame.close?.reason }, 'hub closed the link');
        if (code === 'NODE_REMOVED') this.removed(frame.close?.reason ?? 'removed');
        if (code === 'IDENTITY_IN_USE') this.conflict(`${code}: ${frame.close?.reason ?? ''}`);
        if (code === 'CERT_EXPIRED') this.needsRecovery = true;
        return;
      }
      default:
        this.log.debug({ payload: frame.payload }, 'ignoring frame');
    }
  }

  private async report(): Promise<void> {
    try {
      const health = await this.opts.health.sample(this.opts.k3sStatus());
      this.send({ health });
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'health sample failed');
    }
    this.maybeRenew().catch(logFailure(this.log, 'renewing the certificate'));
  }

  /** Renew now if due (or forced); retried until it succeeds. */
  maybeRenew(force = false): Promise<void> {
    return this.renewer.maybeRenew(force);
  }

  private onRenewed(identity: Identity): void {
    this.identity = identity;
    this.tlsSession = undefined; // the old session carries the old certificate
    this.log.info('reconnecting with the renewed certificate');
    // Connecting with the new certificate tells the hub it is in use: it revokes the old one then.
    this.send({ close: { code: 'CERT_RENEWED', reason: 'reconnecting with the renewed certificate' } });
    this.ws?.close(1000, 'CERT_RENEWED');
  }

  getStatus(): LinkStatus {
    return { ...this.status, certRenewal: this.renewer.status() };
  }
}
