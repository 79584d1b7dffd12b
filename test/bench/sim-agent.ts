// One simulated agent: its own mTLS WebSocket to /v1/agent/connect, speaking the real protocol
// (hello first, health on the interval the welcome gives, pong for the hub's pings, results for
// commands). Kept small per connection: no per-agent watchdog timer (the fleet sweeps), one report
// timer, the TLS session ticket for resumption, and a short list of finished command ids. With
// several hubs, it picks the hub to dial as the real agent does (agent/hub-rotation.ts): its
// registration hub first, then the live hubs its last welcome named.
import {
  connect as tlsConnect,
  createSecureContext,
  type ConnectionOptions,
  type SecureContext,
  type TLSSocket,
} from 'node:tls';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import {
  decodeFrame,
  encodeFrame,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  type Envelope,
  type Frame,
  type HealthReport,
  type HostFacts,
} from '../../proto/index.js';
import { HubRotation } from '../../agent/hub-rotation.js';
import type { SimIdentity } from './sim-identities.js';

export type SimAgentState = 'idle' | 'connecting' | 'welcomed' | 'backoff' | 'stopped' | 'removed' | 'refused';

/** What all agents of one fleet share: where to connect, the slot limiter, policy, and counters. */
export interface AgentHost {
  readonly connectUrl: string;
  readonly caPem: string;
  readonly tlsResume: boolean;
  readonly reconnectBaseMs: number;
  readonly reconnectMaxMs: number;
  /** Several hubs: this agent's registration hub (https://HOST:PORT); undefined: connectUrl only. */
  registrationFor(agent: SimAgent): string | undefined;
  /** A welcome's hubs list, cleaned; agents with the same list share one array. */
  hubList(listed: unknown): string[];
  /** Waits for a connect slot; the returned function gives it back. */
  acquire(): Promise<() => void>;
  health(agent: SimAgent): HealthReport;
  facts(agent: SimAgent): HostFacts;
  welcomed(agent: SimAgent, handshakeMs: number, resumed: boolean): void;
  pong(agent: SimAgent, rttMs: number): void;
  lost(agent: SimAgent, why: string): void;
  readonly counters: {
    reportsSent: number;
    pingsSent: number;
    pongs: number;
    hubPings: number;
    commands: number;
    garbageSent: number;
    closedByHub: number;
    reconnects: number;
    framesIn: number;
    framesOut: number;
  };
}

const WS_OPEN = 1;
/** Within a round the next hub is dialed after at most this, jittered (as agent/link-failover.ts). */
const NEXT_HUB_MAX_MS = 250;

/** Full-jitter exponential backoff: a random delay in [c/2, c] with c = min(max, base * 2^attempt). */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 20));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

export class SimAgent {
  state: SimAgentState = 'idle';
  lastInboundMs = 0;
  intervalMs = 10_000;
  /** Phase mark the fleet uses to count each agent once per connect phase. */
  phase = 0;
  lastError = '';
  /** Fields every health report of this agent carries (probes set a marker here). */
  healthOverrides?: Partial<HealthReport>;
  private ws?: WebSocket;
  private session?: Buffer;
  private nextId = 1;
  private attempt = 0;
  private reportTimer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private release?: () => void;
  private attemptStartedAt = 0;
  private pingNonce = 0;
  private pingSentAt = 0;
  private completed?: string[];
  /** Bumped by every connect, stop and reconnect: a connect that waited for a slot checks it. */
  private gen = 0;
  private resumed = false;
  /**
   * Made once and kept: parsing the key, certificate and CA costs ~1-3 ms of CPU per connect, and a
   * live connection holds its context anyway, so keeping it costs memory only while disconnected.
   */
  private secureContext?: SecureContext;
  /** Several hubs: which one to dial (registration, then the welcome's list), as the real agent. */
  private readonly rotation?: HubRotation;

  constructor(
    readonly id: SimIdentity,
    private readonly host: AgentHost,
  ) {
    const registration = host.registrationFor(this);
    if (registration) this.rotation = new HubRotation(registration, []);
  }

  get nodeId(): string {
    return this.id.nodeId;
  }

  /** The hub being dialed or connected to (several hubs only). */
  get hub(): string | undefined {
    return this.rotation?.hub;
  }

  /** Connects (through the fleet's slot limiter) and keeps reconnecting until stopped. */
  start(): void {
    if (this.state === 'stopped' || this.state === 'removed' || this.state === 'refused') this.state = 'idle';
    if (this.state !== 'idle' && this.state !== 'backoff') return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    void this.connect();
  }

  private async connect(): Promise<void> {
    this.state = 'connecting';
    const gen = ++this.gen;
    const release = await this.host.acquire();
    if (gen !== this.gen || this.state !== 'connecting') {
      release();
      return;
    }
    this.release = release;
    this.attemptStartedAt = performance.now();
    this.resumed = false;
    this.secureContext ??= createSecureContext({
      key: this.id.keyPem,
      cert: this.id.certPem,
      ca: this.host.caPem,
      minVersion: 'TLSv1.2',
    });
    const secureContext = this.secureContext;
    const session = this.host.tlsResume ? this.session : undefined;
    const url = this.rotation
      ? `${this.rotation.hub.replace(/^https:/, 'wss:')}/v1/agent/connect`
      : this.host.connectUrl;
    const ws = new WebSocket(url, {
      perMessageDeflate: false,
      maxPayload: MAX_FRAME_BYTES,
      handshakeTimeout: 15_000,
      skipUTF8Validation: true,
      createConnection: ((opts: ConnectionOptions & { path?: string }) => {
        const host = opts.host ?? '127.0.0.1';
        const sock: TLSSocket = tlsConnect({
          ...opts,
          path: undefined,
          servername: isIP(host) ? '' : host,
          secureContext,
          session,
        });
        sock.once('secureConnect', () => {
          this.resumed = sock.isSessionReused();
        });
        if (this.host.tlsResume)
          sock.on('session', (s: Buffer) => {
            this.session = s;
          });
        return sock;
      }) as unknown as WebSocket.ClientOptions['createConnection'],
    });
    this.ws = ws;
    ws.binaryType = 'nodebuffer';
    ws.on('open', () => {
      this.lastInboundMs = Date.now();
      this.send({
        hello: {
          nodeId: this.id.nodeId,
          agentVersion: 'simulator',
          facts: this.host.facts(this),
          completedCommandIds: this.completed?.slice(-50) ?? [],
          k3sMode: 'off',
        },
      });
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onMessage(ws, data, isBinary));
    ws.on('unexpected-response', (_req, res: IncomingMessage) => {
      res.resume();
      ws.terminate();
      this.failed(ws, `HTTP_${res.statusCode ?? 0}`, res.statusCode === 401 || res.statusCode === 403);
    });
    ws.on('close', (code: number, reason: Buffer) =>
      this.failed(ws, `closed ${code}${reason.length ? ` ${reason.toString()}` : ''}`, false),
    );
    ws.on('error', (err: Error & { code?: string }) => {
      ws.terminate();
      this.failed(ws, err.code ?? err.message, false);
    });
  }

  /** The link ended (or never came up). Reconnects with backoff unless told to stop. */
  private failed(ws: WebSocket, why: string, fatal: boolean): void {
    if (this.ws !== ws) return;
    this.ws = undefined;
    this.giveBackSlot();
    clearInterval(this.reportTimer);
    this.reportTimer = undefined;
    this.pingSentAt = 0;
    this.lastError = why;
    if (this.state === 'stopped' || this.state === 'removed') return;
    this.host.lost(this, why);
    if (fatal) {
      this.state = 'refused';
      return;
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    this.state = 'backoff';
    this.host.counters.reconnects++;
    // Several hubs: the next hub of the round at once (jittered), a backoff only between rounds.
    const newRound = this.rotation ? this.rotation.next().newRound : true;
    const delay = newRound
      ? backoffDelay(this.attempt++, this.host.reconnectBaseMs, this.host.reconnectMaxMs)
      : Math.round(Math.random() * NEXT_HUB_MAX_MS);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.state === 'backoff') void this.connect();
    }, delay);
  }

  private giveBackSlot(): void {
    const r = this.release;
    this.release = undefined;
    r?.();
  }

  send(payload: Omit<Envelope, 'protocolVersion' | 'messageId' | 'sentAtMs'>): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WS_OPEN) return false;
    ws.send(
      encodeFrame({ protocolVersion: PROTOCOL_VERSION, messageId: this.nextId++, sentAtMs: Date.now(), ...payload }),
    );
    this.host.counters.framesOut++;
    return true;
  }

  /** Raw bytes (or text) that are not a valid frame; the hub should close the link with a reason. */
  sendRaw(data: Buffer | string): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WS_OPEN) return false;
    ws.send(data, { binary: typeof data !== 'string' });
    this.host.counters.garbageSent++;
    return true;
  }

  sendHealth(): boolean {
    if (this.state !== 'welcomed') return false;
    const ok = this.send({ health: { ...this.host.health(this), ...this.healthOverrides } });
    if (ok) this.host.counters.reportsSent++;
    return ok;
  }

  /** Sends a Ping now; the fleet gets the round trip when the Pong with this nonce comes back. */
  ping(): boolean {
    if (this.state !== 'welcomed') return false;
    this.pingNonce++;
    this.pingSentAt = performance.now();
    const ok = this.send({ ping: { nonce: this.pingNonce } });
    if (ok) this.host.counters.pingsSent++;
    else this.pingSentAt = 0;
    return ok;
  }

  /** Whether a ping is still waiting for its pong. */
  get pingOutstanding(): boolean {
    return this.pingSentAt !== 0;
  }

  private onMessage(ws: WebSocket, data: Buffer, isBinary: boolean): void {
    if (this.ws !== ws) return;
    this.host.counters.framesIn++;
    let frame: Frame;
    try {
      if (!isBinary) throw new Error('text frame');
      frame = decodeFrame(data);
    } catch (err) {
      this.send({ close: { code: 'FRAME_MALFORMED', reason: (err as Error).message } });
      ws.close(1002, 'FRAME_MALFORMED');
      return;
    }
    this.lastInboundMs = Date.now();
    switch (frame.payload) {
      case 'welcome':
        this.onWelcome(frame);
        return;
      case 'ping':
        this.host.counters.hubPings++;
        this.send({ inReplyTo: frame.messageId, pong: { nonce: frame.ping?.nonce ?? 0 } });
        return;
      case 'pong': {
        if (this.pingSentAt && Number(frame.pong?.nonce ?? 0) === this.pingNonce) {
          const rtt = performance.now() - this.pingSentAt;
          this.pingSentAt = 0;
          this.host.counters.pongs++;
          this.host.pong(this, rtt);
        }
        return;
      }
      case 'command':
        this.onCommand(frame);
        return;
      case 'close':
        this.host.counters.closedByHub++;
        if (frame.close?.code === 'NODE_REMOVED') this.stop('removed');
        return;
      default:
        // certRenewResponse and anything new: a simulated agent has nothing to do with it.
        return;
    }
  }

  private onWelcome(frame: Frame): void {
    if (this.state !== 'connecting') return;
    this.state = 'welcomed';
    this.attempt = 0;
    this.intervalMs = Math.max(100, frame.welcome?.heartbeatIntervalMs ?? 10_000);
    this.rotation?.welcomed(this.host.hubList(frame.welcome?.hubs));
    const handshakeMs = performance.now() - this.attemptStartedAt;
    this.giveBackSlot();
    this.host.welcomed(this, handshakeMs, this.resumed);
    // As the real agent: a report right away, then one per interval.
    this.sendHealth();
    clearInterval(this.reportTimer);
    this.reportTimer = setInterval(() => this.sendHealth(), this.intervalMs);
  }

  private onCommand(frame: Frame): void {
    this.host.counters.commands++;
    const cmd = frame.command ?? {};
    const id = cmd.id ?? '';
    this.completed ??= [];
    if (this.completed.includes(id)) {
      this.send({ commandResult: { commandId: id, ok: true, message: 'already done' } });
      return;
    }
    let result: { ok: boolean; errorCode?: string; message: string };
    switch (cmd.action) {
      case 'restart-k3s':
        result = { ok: true, message: 'k3s restarted (simulated)' };
        break;
      case 'reboot':
        result = { ok: true, message: 'rebooting (simulated; nothing happens)' };
        break;
      default:
        result = {
          ok: false,
          errorCode: 'UNKNOWN_COMMAND',
          message: `the simulator does not know "${cmd.action ?? ''}"`,
        };
    }
    this.completed.push(id);
    if (this.completed.length > 50) this.completed.shift();
    this.send({
      commandResult: { commandId: id, ok: result.ok, errorCode: result.errorCode ?? '', message: result.message },
    });
  }

  /** Hangs up now (no close frame: like a crash or a cut cable) and connects again at once. */
  reconnectNow(): void {
    if (this.state === 'stopped' || this.state === 'removed' || this.state === 'refused') return;
    this.gen++;
    const ws = this.ws;
    this.ws = undefined;
    this.giveBackSlot();
    clearInterval(this.reportTimer);
    this.reportTimer = undefined;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.pingSentAt = 0;
    ws?.terminate();
    this.attempt = 0;
    this.state = 'idle';
    this.start();
  }

  /** The hub has been silent for too long: drop the link and reconnect with backoff. */
  silent(): void {
    const ws = this.ws;
    if (!ws) return;
    ws.terminate();
    this.failed(ws, 'hub silent for two heartbeat intervals', false);
  }

  /**
   * Stops for good. `graceful` sends a Close frame and a WebSocket close; otherwise the socket is
   * destroyed with no goodbye (the hub notices by heartbeat).
   */
  stop(state: 'stopped' | 'removed' = 'stopped', graceful = true): void {
    if (this.state === 'stopped' || this.state === 'removed') return;
    this.state = state;
    this.gen++;
    clearInterval(this.reportTimer);
    clearTimeout(this.retryTimer);
    this.reportTimer = undefined;
    this.retryTimer = undefined;
    this.giveBackSlot();
    const ws = this.ws;
    this.ws = undefined;
    if (!ws) return;
    if (graceful && ws.readyState === WS_OPEN) {
      ws.send(
        encodeFrame({
          protocolVersion: PROTOCOL_VERSION,
          messageId: this.nextId++,
          sentAtMs: Date.now(),
          close: { code: 'AGENT_STOPPING', reason: 'simulator stopping' },
        }),
      );
      ws.close(1000);
      // A peer that never answers the close does not keep us around.
      setTimeout(() => ws.terminate(), 2000).unref();
    } else {
      ws.terminate();
    }
  }
}
