// "Foreign servers" for end-to-end tests: network namespaces on one bridge, each with its own
// loopback and an address in 198.18.0.0/15 (the range set aside for network tests). Everything is
// created with unique names and removed by cleanup(), also when a test fails.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Host {
  name: string;
  ns: string;
  ip: string;
  /** Veth end in the root namespace (link down = this host is cut off). */
  hostVeth: string;
}

export interface Lab {
  bridge: string;
  /** The root namespace's own address on the bridge (tests talk to hosts from here). */
  gatewayIp: string;
  hosts: Host[];
  addHost(name: string): Host;
  /** Removes one host (its namespace and link); end the processes in it first (hostPids). */
  removeHost(host: Host): void;
  /**
   * Connects a host of another lab to this lab's bridge too (a second network: e.g. the database's),
   * with an address here and no default route; setLink on the result cuts only that link.
   */
  attach(host: Host): Host;
  /** Cuts (or restores) one host's link. */
  setLink(host: Host, up: boolean): void;
  /**
   * The host's /etc/hosts: `ip netns exec` bind-mounts /etc/netns/<ns>/hosts over /etc/hosts for
   * what it starts. Set it before starting anything there; later calls rewrite the same file in place
   * (same inode), so running processes see the new names at their next lookup.
   */
  setHosts(host: Host, names: Record<string, string>): void;
  /** argv prefix that runs a command inside the host's namespace. */
  exec(host: Host): string[];
  cleanup(): void;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** How many ethN links a namespace has (the next one is eth<that>). */
function ethCount(ns: string): number {
  const out = spawnSync('ip', ['-n', ns, '-o', 'link'], { encoding: 'utf8' }).stdout;
  return out.split('\n').filter((l) => /^\d+: eth\d+[@:]/.test(l)).length;
}

export function netnsAvailable(): { ok: boolean; why: string } {
  if (process.getuid?.() !== 0) return { ok: false, why: 'network namespaces need root' };
  const probe = `atp${randomBytes(3).toString('hex')}`;
  const r = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (r.status !== 0) return { ok: false, why: `ip netns add failed: ${r.stderr || r.error?.message}` };
  spawnSync('ip', ['netns', 'del', probe]);
  return { ok: true, why: '' };
}

const labs = new Set<Lab>();
const NETNS_ETC = '/etc/netns';
process.once('exit', () => {
  for (const l of labs) l.cleanup();
});

/** Subnet index 0..255 picks 198.18.<n>.0/24, so parallel test files do not collide. */
export function createLab(subnet = Math.floor(Math.random() * 200) + 20): Lab {
  const id = randomBytes(3).toString('hex');
  const bridge = `atb${id}`;
  const prefix = `198.18.${subnet}`;
  const gatewayIp = `${prefix}.254`;
  const hosts: Host[] = [];
  let cleaned = false;
  let added = 0;
  ip('link', 'add', bridge, 'type', 'bridge');
  ip('addr', 'add', `${gatewayIp}/24`, 'dev', bridge);
  ip('link', 'set', bridge, 'up');
  const lab: Lab = {
    bridge,
    gatewayIp,
    hosts,
    addHost(name) {
      added += 1;
      const n = added;
      const ns = `at${id}-${name}`.slice(0, 30);
      const hostVeth = `atv${id}${n}`;
      const peer = `atp${id}${n}`;
      const host: Host = { name, ns, ip: `${prefix}.${n}`, hostVeth };
      hosts.push(host);
      ip('netns', 'add', ns);
      ip('link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', peer);
      ip('link', 'set', peer, 'netns', ns);
      ip('link', 'set', hostVeth, 'master', bridge, 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'link', 'set', peer, 'name', 'eth0');
      ip('-n', ns, 'addr', 'add', `${host.ip}/24`, 'dev', 'eth0');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
      ip('-n', ns, 'route', 'add', 'default', 'via', gatewayIp);
      return host;
    },
    removeHost(host) {
      const at = hosts.indexOf(host);
      if (at < 0) return;
      hosts.splice(at, 1);
      spawnSync('ip', ['netns', 'del', host.ns]);
      spawnSync('ip', ['link', 'del', host.hostVeth]);
      rmSync(join(NETNS_ETC, host.ns), { recursive: true, force: true });
    },
    attach(other) {
      added += 1;
      const n = added;
      const hostVeth = `atv${id}${n}`;
      const peer = `atp${id}${n}`;
      const dev = `eth${ethCount(other.ns)}`;
      const host: Host = { name: `${other.name}@${bridge}`, ns: other.ns, ip: `${prefix}.${n}`, hostVeth };
      hosts.push(host);
      ip('link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', peer);
      ip('link', 'set', peer, 'netns', other.ns);
      ip('link', 'set', hostVeth, 'master', bridge, 'up');
      ip('-n', other.ns, 'link', 'set', peer, 'name', dev);
      ip('-n', other.ns, 'addr', 'add', `${host.ip}/24`, 'dev', dev);
      ip('-n', other.ns, 'link', 'set', dev, 'up');
      return host;
    },
    setLink(host, up) {
      ip('link', 'set', host.hostVeth, up ? 'up' : 'down');
    },
    setHosts(host, names) {
      const dir = join(NETNS_ETC, host.ns);
      mkdirSync(dir, { recursive: true });
      const lines = ['127.0.0.1 localhost', '::1 localhost', ...Object.entries(names).map(([n, a]) => `${a} ${n}`)];
      writeFileSync(join(dir, 'hosts'), `${lines.join('\n')}\n`); // truncates: the same inode
    },
    exec(host) {
      return ['ip', 'netns', 'exec', host.ns];
    },
    cleanup() {
      if (cleaned) return;
      cleaned = true;
      labs.delete(lab);
      for (const h of hosts) {
        spawnSync('ip', ['netns', 'del', h.ns]);
        spawnSync('ip', ['link', 'del', h.hostVeth]);
        // Only this host's own folder (never /etc/netns itself: other labs may use it).
        rmSync(join(NETNS_ETC, h.ns), { recursive: true, force: true });
      }
      spawnSync('ip', ['link', 'del', bridge]);
    },
  };
  labs.add(lab);
  return lab;
}

/** The pids of the processes running in a host's namespace (all started by the test that made it). */
export function hostPids(host: Host): number[] {
  const r = spawnSync('ip', ['netns', 'pids', host.ns], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n').filter(Boolean).map(Number) : [];
}
