// The agent's link to the hub: an mTLS WebSocket carrying protobuf envelopes (hub-socket.ts). It
// fails over between the known hubs, with capped, jittered backoff between rounds (link-failover.ts); sends hello, health on
// the interval the hub gives, and answers pings; notices a silent hub within two intervals
// (link-heartbeat.ts); renews its certificate from 2/3 of its life (cert-renewer.ts) and recovers an
// expired one over HTTPS (link-credentials.ts); keeps its status for `atoll-agent status` (link-status.ts).
import WebSocket from 'ws';
import type { IncomingMessage } from 'node:http';
import {
  decodeFrame,
  encodeFrame,
  PROTOCOL_VERSION,
  ProtocolError,
  type Envelope,
  type Frame,
} from '../proto/index.js';
import { loadIdentity, type Identity } from './identity.js';
import { CertRenewer } from './cert-renewer.js';
import type { Logger } from './logger.js';
import type { ConnectionOptions, LinkStatus } from './link-types.js';
import { LinkCredentials } from './link-credentials.js';
import { LinkStatusBoard } from './link-status.js';
import { LinkFailover } from './link-failover.js';
import { closeVerdict, readRefusal, refusalVerdict, type LinkVerdict } from './link-refusal.js';
import { collectFacts } from './facts.js';
import { dialHub } from './hub-socket.js';
import { LinkHeartbeat } from './link-heartbeat.js';
import { CommandExecutor } from './commands/executor.js';
import { logFailure } from '../certs/log-failure.js';
import { reportHealth, runCommand } from './link-report.js';

export class HubConnection {
  private ws?: WebSocket;
  private stopped = false;
  private nextId = 1;
  private readonly retry: LinkFailover;
  private readonly creds: LinkCredentials;
  private readonly commands: CommandExecutor;
  private readonly renewer: CertRenewer;
  private readonly heartbeat: LinkHeartbeat;
  private readonly log: Logger;
  private readonly status: LinkStatusBoard;

  constructor(private readonly opts: ConnectionOptions) {
    const identity = loadIdentity(opts.dataDir);
    this.log = opts.logger.child({ component: 'link', nodeId: identity.nodeId });
    this.creds = new LinkCredentials(opts.dataDir, identity, this.log);
    this.status = new LinkStatusBoard(opts.onStatus);
    this.retry = new LinkFailover({
      dataDir: opts.dataDir,
      registration: identity.hubUrl,
      log: this.log,
      baseMs: opts.reconnectBaseMs,
      maxMs: opts.reconnectMaxMs,
      random: opts.random,
    });
    this.commands = new CommandExecutor({ dataDir: opts.dataDir, logger: this.log, handler: opts.onCommand });
    this.renewer = new CertRenewer({
      dataDir: opts.dataDir,
      logger: this.log,
      random: opts.random,
      identity: () => this.creds.identity,
      linkUp: () => this.status.state === 'connected',
      send: (csrPem) => this.send({ certRenewRequest: { csrPem } }),
      renewed: (id) => this.onRenewed(id),
    });
    this.heartbeat = new LinkHeartbeat({
      report: () => this.report().catch(logFailure(this.log, 'reporting health')),
      silent: (silentMs) => {
        this.log.warn({ silentMs }, 'hub silent for two heartbeat intervals');
        const ws = this.ws;
        this.clearTimers();
        ws?.terminate();
        this.scheduleReconnect('heartbeat timeout');
      },
    });
  }

  get nodeId(): string {
    return this.creds.identity.nodeId;
  }

  start(): void {
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.renewer.stop();
    this.retry.cancel();
    this.clearTimers();
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.send({ close: { code: 'AGENT_STOPPING', reason: 'the agent is shutting down' } });
      this.ws.close(1000);
    } else {
      this.ws?.terminate();
    }
    this.status.set('stopped', null);
  }

  private connect(): void {
    if (this.stopped) return;
    // An expired certificate cannot pass TLS: recover it over HTTPS first (with the node's own key).
    if (this.creds.mustRecover()) {
      this.recover().catch(logFailure(this.log, 'recovering an expired certificate'));
      return;
    }
    this.status.hubs(this.retry.hub, this.retry.known);
    this.status.set('connecting', null);
    const ws = dialHub(this.retry.hub, this.creds.identity, this.creds.session, (session) =>
      this.creds.keepSession(session),
    );
    this.ws = ws;
    ws.on('open', () => {
      this.heartbeat.heard();
      this.send({
        hello: {
          nodeId: this.creds.identity.nodeId,
          agentVersion: this.opts.agentVersion,
          facts: collectFacts(),
          completedCommandIds: this.commands.completedIds().slice(-50),
          k3sMode: this.opts.k3sMode,
        },
      });
      this.heartbeat.watch();
    });
    ws.on('unexpected-response', (_req, res: IncomingMessage) => {
      readRefusal(res)
        .then((r) => {
          ws.terminate();
          // A refused session must not be resumed again: the next try makes a full handshake.
          this.creds.keepSession(undefined);
          this.act(refusalVerdict(r), r.code, r.message, true);
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
    this.status.set('connecting', null);
    const next = await this.creds.recover();
    if ('dial' in next) this.connect();
    else if ('removed' in next) this.removed(next.removed);
    else this.scheduleReconnect(next.retry, next.minDelayMs);
  }

  /** Carries out a verdict on a refusal (then dials again) or a close (the close event dials again). */
  private act(verdict: LinkVerdict, code: string, message: string, refused: boolean): void {
    if (verdict === 'removed') return this.removed(message || code);
    if (verdict === 'identity-conflict') return this.conflict(`${code}: ${message}`);
    if (verdict === 'recover') this.creds.expired();
    if (verdict === 'elsewhere') this.retry.sentAway();
    if (refused) this.scheduleReconnect(`hub refused the connection: ${code} ${message}`.trim());
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
    this.status.set(state, reason);
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
    const next = this.retry.schedule(() => this.connect(), minDelayMs);
    if (next === undefined) return;
    this.status.reconnecting();
    this.log.warn({ reason, retryInMs: next.delayMs, hub: next.hub }, 'hub link down; reconnecting');
    this.status.set('backoff', reason);
  }

  private clearTimers(): void {
    // Every path that ends a link comes here: a renewal in flight will get no answer on it.
    this.renewer.linkDown();
    this.heartbeat.stop();
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
    this.heartbeat.heard();
    switch (frame.payload) {
      case 'welcome': {
        this.retry.welcomed(frame.welcome?.hubs);
        this.status.hubs(this.retry.hub, this.retry.known);
        const intervalMs = this.heartbeat.use(frame.welcome?.heartbeatIntervalMs ?? 10_000);
        this.status.heartbeatInterval(intervalMs);
        this.status.set('connected', null);
        this.log.info({ hub: this.retry.hub, hubs: this.retry.known.length, intervalMs }, 'connected to the hub');
        this.heartbeat.watch();
        this.renewer.arm();
        this.heartbeat.startReports();
        return;
      }
      case 'ping':
        this.send({ inReplyTo: frame.messageId, pong: { nonce: frame.ping?.nonce ?? 0 } });
        return;
      case 'pong':
        return;
      case 'command':
        runCommand(this.commands, frame.command ?? {}, (p) => this.send(p), this.log);
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
        this.act(closeVerdict(code), code, frame.close?.reason ?? '', false);
        return;
      }
      default:
        this.log.debug({ payload: frame.payload }, 'ignoring frame');
    }
  }

  private async report(): Promise<void> {
    await reportHealth(this.opts.health, this.opts.k3sStatus, (p) => this.send(p), this.log);
    this.maybeRenew().catch(logFailure(this.log, 'renewing the certificate'));
  }

  /** Renew now if due (or forced); retried until it succeeds. */
  maybeRenew(force = false): Promise<void> {
    return this.renewer.maybeRenew(force);
  }

  private onRenewed(identity: Identity): void {
    this.creds.renewed(identity); // and drops the old session: it carries the old certificate
    this.log.info('reconnecting with the renewed certificate');
    // Connecting with the new certificate tells the hub it is in use: it revokes the old one then.
    this.send({ close: { code: 'CERT_RENEWED', reason: 'reconnecting with the renewed certificate' } });
    this.ws?.close(1000, 'CERT_RENEWED');
  }

  getStatus(): LinkStatus {
    return { ...this.status.current(), certRenewal: this.renewer.status() };
  }
}
