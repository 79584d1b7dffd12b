// The agent's client-side load balancer (pkg/agent/loadbalancer): it starts from --server, learns the
// apiservers from the `kubernetes` endpoints, keeps using the server that answers and fails over to
// the others (in shuffled order) when it cannot reach it, with the original --server address always
// the last resort. The list is cached in <data-dir>/agent/etc/k3s-agent-load-balancer.json like
// k3s's ({"ServerURL", "ServerAddresses"}); a cached list is only a starting point and is replaced
// by what the endpoints say, and a server dropped from them is no longer used (k3s#11349, #7193).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import type { Logger } from '../util/log.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { isUnreachable, type ServerSelector } from '../util/server-selector.js';

export const LB_NAME = 'k3s-agent-load-balancer';

interface LbFile {
  ServerURL?: string;
  ServerAddresses?: string[];
}

function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
  }
  return xs;
}

export class LoadBalancer implements ServerSelector {
  readonly defaultAddress: string;
  readonly file: string;
  private addresses: string[] = [];
  private current: string;

  constructor(
    readonly serverUrl: string,
    dataDir: string,
    private readonly log: Logger,
    /** false with --disable-apiserver-lb: always --server. */
    private readonly enabled = true,
  ) {
    const u = new URL(serverUrl);
    this.defaultAddress = `${u.hostname}:${u.port || '443'}`;
    this.current = this.defaultAddress;
    this.file = join(dataDir, 'agent', 'etc', `${LB_NAME}.json`);
    if (enabled && existsSync(this.file)) {
      try {
        const cached = JSON.parse(readFileSync(this.file, 'utf8')) as LbFile;
        if (cached.ServerURL === serverUrl && Array.isArray(cached.ServerAddresses))
          this.addresses = cached.ServerAddresses.filter((a) => typeof a === 'string');
      } catch {
        // a damaged cache is rebuilt from the endpoints
      }
    }
  }

  /** The servers in the order they are tried: the one in use, the others shuffled, then --server. */
  servers(): string[] {
    const known = new Set([...this.addresses, this.defaultAddress]);
    const first = known.has(this.current) ? [this.current] : [];
    const rest = shuffle(this.addresses.filter((a) => a !== this.current && a !== this.defaultAddress));
    return [...new Set([...first, ...rest, this.defaultAddress])];
  }

  /** Replaces the learned addresses (host:port) and rewrites the cache file when they changed. */
  setAddresses(addresses: readonly string[]): void {
    if (!this.enabled || addresses.length === 0) return;
    const next = [...new Set(addresses)].sort();
    if (JSON.stringify(next) === JSON.stringify(this.addresses) && existsSync(this.file)) return;
    this.addresses = next;
    writeFileAtomic(
      this.file,
      `${JSON.stringify({ ServerURL: this.serverUrl, ServerAddresses: next, Listener: null }, null, 2)}\n`,
      0o600,
    );
    this.log.info(
      `Updated load balancer ${LB_NAME} server addresses -> [${next.join(' ')}] [default: ${this.defaultAddress}]`,
    );
  }

  async run<T>(fn: (baseUrl: string) => Promise<T>): Promise<T> {
    const order = this.enabled ? this.servers() : [this.defaultAddress];
    let last: unknown;
    for (const address of order) {
      try {
        const out = await fn(`https://${address}`);
        if (address !== this.current) {
          this.log.info(`Load balancer ${LB_NAME}: switched from ${this.current} to ${address}`);
          this.current = address;
        }
        return out;
      } catch (e) {
        if (!isUnreachable(e)) throw e;
        last = e;
      }
    }
    throw last;
  }
}
