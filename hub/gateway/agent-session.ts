// One agent's WebSocket on the hub side: decodes frames (bounded), enforces hello-first, answers
// pings, sends its own heartbeats, dispatches reports, and carries commands with their results.
import type { WebSocket } from 'ws';
import {
  checkAgentFrame,
  decodeFrame,
  encodeFrame,
  FIELD_INVALID,
  ProtocolError,
  PROTOCOL_VERSION,
  type Envelope,
  type Frame,
  type K3sAssignment,
} from '../../proto/index.js';
import type { AgentLink, CommandOutcome } from '../nodes/registry.js';
import type { Logger } from '../logger.js';
import { systemClock, type Clock } from '../clock.js';
import type { SessionOptions } from './agent-session-options.js';
import { toHealth } from './agent-reports.js';
import { cleanHubUrls } from '../../proto/hub-urls.js';

const WS_POLICY_VIOLATION = 1008;
const WS_PROTOCOL_ERROR = 1002;
const WS_NORMAL = 1000;
/** An agent that does not read (its receive window and our socket buffer full) is cut off past this. */
export const MAX_BUFFERED_BYTES = 512 * 1024;

export class AgentSession implements AgentLink {
  readonly nodeId: string;
  readonly remoteAddress: string;
  readonly tlsResumed: boolean;
  /** Serial and expiry of the client certificate of this link ('' and Infinity when unknown). */
  readonly certSerial: string;
  readonly certNotAfterMs: number;
  readonly connectedAt = Date.now();
  k3sMode = 'auto';
  private helloDone = false;
  private closed = false;
  private nextId = 1;
  private readonly clock: Clock;
  private lastInbound: number;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly helloTimer: NodeJS.Timeout;
  private readonly log: Logger;
  /** Waiters of probe(): resolved by the next frame from the agent. */
  private readonly probes = new Set<(alive: boolean) => void>();

  constructor(
    private readonly ws: WebSocket,
    private readonly opts: SessionOptions,
  ) {
    this.nodeId = opts.nodeId;
    this.remoteAddress = opts.remoteAddress;
    this.tlsResumed = Boolean(opts.tlsResumed);
    this.clock = opts.clock ?? systemClock;
    this.lastInbound = this.clock.mono();
    this.certSerial = opts.cert?.serial ?? '';
    this.certNotAfterMs = opts.cert?.notAfterMs ?? Number.POSITIVE_INFINITY;
    this.log = opts.logger.child({ nodeId: opts.nodeId });
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on('close', (code: number, reason: Buffer) =>
      this.onClosed(`websocket closed (${code}${reason.length ? ` ${reason.toString()}` : ''})`),
    );
    ws.on('error', (err: Error) => {
      // ws reports oversized frames here (maxPayload) and then closes with 1009.
      this.log.warn({ err: err.message }, 'agent websocket error');
    });
    this.helloTimer = setTimeout(
      () => this.close('HELLO_TIMEOUT', 'no hello within the allowed time'),
      opts.helloTimeoutMs ?? 10_000,
    );
    // Application heartbeat: a ping each interval; silence for two intervals (plus slack) ends the link.
    this.heartbeat = setInterval(() => this.beat(), opts.heartbeatIntervalMs);
    this.heartbeat.unref();
  }

  private beat(): void {
    const silentFor = this.clock.mono() - this.lastInbound;
    if (silentFor > 2 * this.opts.heartbeatIntervalMs + 1000) {
      this.log.info({ silentFor }, 'agent silent for two heartbeat intervals; closing');
      this.ws.terminate();
      this.onClosed('heartbeat timeout');
      return;
    }
    this.send({ ping: { nonce: this.nextId } });
  }

  send(payload: Omit<Envelope, 'protocolVersion' | 'messageId' | 'sentAtMs'>): boolean {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return false;
    if (this.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      // Bounded memory per link: a peer that stops reading does not make the hub queue for it forever.
      this.log.warn(
        { bufferedBytes: this.ws.bufferedAmount },
        'agent does not read what the hub sends; dropping the link',
      );
      this.ws.terminate();
      this.onClosed(`SLOW_CONSUMER: more than ${MAX_BUFFERED_BYTES} bytes unread`);
      return false;
    }
    const frame = encodeFrame({
      protocolVersion: PROTOCOL_VERSION,
      messageId: this.nextId++,
      sentAtMs: this.clock.now(),
      ...payload,
    });
    this.ws.send(frame);
    return true;
  }

  close(code: string, reason: string): void {
    if (this.closed) return;
    this.send({ close: { code, reason } });
    this.ws.close(code === 'NODE_REMOVED' || code === 'REPLACED' ? WS_NORMAL : WS_POLICY_VIOLATION, code);
    this.onClosed(`${code}: ${reason}`);
  }

  retire(code: string, reason: string, timeoutMs: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        // The agent did not hang up by itself: close normally (and hard, if it ignores that too).
        this.ws.close(WS_NORMAL, code);
        setTimeout(() => this.ws.terminate(), 2000).unref();
        this.onClosed(`${code}: ${reason} (agent did not hang up)`);
        resolve(false);
      }, timeoutMs);
      this.ws.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
      if (!this.send({ close: { code, reason } })) {
        clearTimeout(timer);
        this.ws.terminate();
        resolve(false);
      }
    });
  }

  /** Whether the agent still answers: a ping, and any frame from it within `timeoutMs`. */
  probe(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => settle(false), timeoutMs);
      const settle = (alive: boolean): void => {
        clearTimeout(timer);
        this.probes.delete(settle);
        resolve(alive);
      };
      this.probes.add(settle);
      if (!this.send({ ping: { nonce: this.nextId } })) settle(false);
    });
  }

  assignK3s(assignment: K3sAssignment): boolean {
    return this.send({ k3sAssignment: assignment });
  }

  command(action: string, args: Record<string, string>, timeoutMs: number): Promise<CommandOutcome> {
    return this.opts.handlers.command(this.nodeId, action, args, timeoutMs);
  }

  sendCommand(cmd: { id: string; action: string; args: Record<string, string>; deadlineMs: number }): boolean {
    return this.send({ command: cmd });
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    let frame: Frame;
    try {
      if (!isBinary) throw new ProtocolError('FRAME_MALFORMED', 'text frames are not part of the protocol');
      frame = decodeFrame(data);
    } catch (err) {
      const code = err instanceof ProtocolError ? err.code : 'FRAME_MALFORMED';
      this.log.warn({ code, bytes: data.length }, 'bad frame from agent; closing');
      this.send({ close: { code, reason: (err as Error).message } });
      this.ws.close(WS_PROTOCOL_ERROR, code);
      this.onClosed(`${code}: ${(err as Error).message}`);
      return;
    }
    this.lastInbound = this.clock.mono();
    // Every field is bounded (proto/limits.ts) before anything of it is stored, logged or echoed.
    const invalid = checkAgentFrame(frame);
    if (invalid) {
      this.log.warn(
        { code: FIELD_INVALID, field: invalid.slice(0, invalid.indexOf(':')), payload: frame.payload },
        'field out of bounds from agent; closing',
      );
      this.close(FIELD_INVALID, invalid);
      return;
    }
    // Any frame answers the liveness probes in flight (rare: only while an identity is contested).
    if (this.probes.size) for (const settle of [...this.probes]) settle(true);
    if (!this.helloDone && frame.payload !== 'hello') {
      this.close('HELLO_REQUIRED', `first frame must be hello, got ${frame.payload}`);
      return;
    }
    void this.dispatch(frame).catch((err: unknown) => {
      this.log.error({ err }, 'failed to handle agent frame');
    });
  }

  private async dispatch(frame: Frame): Promise<void> {
    const h = this.opts.handlers;
    switch (frame.payload) {
      case 'hello': {
        if (this.helloDone) return;
        if (frame.hello?.nodeId !== this.nodeId) {
          this.close(
            'IDENTITY_MISMATCH',
            `hello names node ${frame.hello?.nodeId ?? '(none)'} but the certificate names ${this.nodeId}`,
          );
          return;
        }
        this.helloDone = true;
        this.k3sMode = frame.hello.k3sMode || 'auto';
        clearTimeout(this.helloTimer);
        const welcome = await h.hello(this, frame);
        if (!welcome) {
          this.close('NODE_REMOVED', 'this node is no longer registered at the hub');
          return;
        }
        this.send({
          inReplyTo: frame.messageId,
          welcome: {
            nodeId: this.nodeId,
            nodeName: welcome.nodeName,
            pool: welcome.pool,
            heartbeatIntervalMs: this.opts.heartbeatIntervalMs,
            hubTimeMs: this.clock.now(),
            hubVersion: this.opts.hubVersion,
            hubs: cleanHubUrls(this.opts.liveGatewayUrls?.() ?? []).urls,
          },
        });
        await h.welcomed?.(this);
        return;
      }
      case 'health':
        await h.health(this, toHealth(frame.health ?? {}, this.clock.now(), Number(frame.sentAtMs ?? 0)));
        return;
      case 'ping':
        h.touch(this);
        this.send({ inReplyTo: frame.messageId, pong: { nonce: frame.ping?.nonce ?? 0 } });
        return;
      case 'pong':
        h.touch(this);
        return;
      case 'commandResult': {
        const r = frame.commandResult ?? {};
        if (!r.commandId) return;
        await h.commandResult(this, {
          commandId: r.commandId,
          ok: Boolean(r.ok),
          errorCode: r.errorCode ?? '',
          message: r.message ?? '',
        });
        return;
      }
      case 'certRenewRequest': {
        // Every request gets an answer, also when the hub fails: the agent retries on an error reply.
        const res = await h.renewCert(this, frame.certRenewRequest?.csrPem ?? '').catch((err: unknown) => {
          this.log.error({ err }, 'certificate renewal failed');
          return { errorCode: 'INTERNAL', message: 'renewal failed on the hub; retry later' };
        });
        this.send({
          inReplyTo: frame.messageId,
          certRenewResponse:
            'certPem' in res ? { certPem: res.certPem } : { errorCode: res.errorCode, message: res.message },
        });
        return;
      }
      case 'close':
        this.log.info({ code: frame.close?.code, reason: frame.close?.reason }, 'agent is closing');
        this.ws.close(WS_NORMAL);
        this.onClosed(`agent closed: ${frame.close?.code ?? ''} ${frame.close?.reason ?? ''}`.trim());
        return;
      default:
        // Hub-to-agent payloads (welcome, command, ...) are not valid from an agent.
        this.close('FRAME_UNEXPECTED', `agents may not send ${frame.payload}`);
    }
  }

  private onClosed(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const settle of [...this.probes]) settle(false);
    clearInterval(this.heartbeat);
    clearTimeout(this.helloTimer);
    this.opts.handlers.closed(this, reason);
  }
}
