// A puppet agent for autoheal tests: a real key, certificate and mTLS WebSocket speaking the real
// protocol, whose health reports the test sets (k3s running or crashed), and which answers commands.
import type { HubHandle } from './processes.js';
import { rawJoin, openLink, type JoinedNode, type RawLink } from './bad-input.js';

export class Puppet {
  private link?: RawLink;
  private timer?: NodeJS.Timeout;
  k3sState = 'running';
  readonly commands: string[] = [];

  private constructor(
    private readonly hub: HubHandle,
    readonly node: JoinedNode,
  ) {}

  static async join(hub: HubHandle, token: string, name: string): Promise<Puppet> {
    const p = new Puppet(hub, await rawJoin(hub, token, name));
    await p.connect();
    return p;
  }

  get id(): string {
    return this.node.nodeId;
  }

  async connect(): Promise<void> {
    this.link = await openLink(this.hub, this.node);
    const link = this.link;
    link.ws.on('message', () => {
      for (const f of link.frames.splice(0)) {
        if (f.payload === 'command' && f.command) {
          this.commands.push(f.command.action ?? '');
          link.send({ commandResult: { commandId: f.command.id, ok: true, message: 'done by the puppet' } });
        }
        if (f.payload === 'ping') link.send({ pong: { nonce: f.ping?.nonce ?? 0 } });
      }
    });
    const report = (): void => {
      try {
        link.send({
          health: {
            cpuPercent: 1,
            memoryTotalBytes: 8e9,
            memoryUsedBytes: 1e9,
            diskTotalBytes: 1e11,
            diskUsedBytes: 1e10,
            uptimeSeconds: 100,
            k3s: { state: this.k3sState, version: 'v1.31.4+k3s1', kubeletHealthy: this.k3sState === 'running' },
          },
        });
      } catch {
        // closed
      }
    };
    report();
    clearInterval(this.timer);
    this.timer = setInterval(report, 300);
  }

  /** Drops the link without a goodbye (a lost agent). */
  disconnect(): void {
    clearInterval(this.timer);
    this.link?.terminate();
    this.link = undefined;
  }

  stop(): void {
    this.disconnect();
  }
}
