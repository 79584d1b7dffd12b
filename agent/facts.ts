// Host facts sent at join and in every hello: cheap reads only (os module, /etc/os-release, /proc).
import { arch as nodeArch, cpus, hostname, networkInterfaces, release, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import { providerFromDmi } from './provider.js';
import { clampText, COUNT_LIMITS, LIMITS } from '../proto/index.js';

export const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm' };

function osName(): string {
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text);
    if (m) return m[1];
  } catch {
    // not Linux, or no os-release
  }
  return process.platform;
}

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

/** systemd's machine id (dbus's on older systems); '' when neither exists. */
function machineId(): string {
  for (const path of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    try {
      const id = readFileSync(path, 'utf8').trim();
      if (/^[0-9a-f]{32}$/.test(id)) return id;
    } catch {
      // not there
    }
  }
  return '';
}

/**
 * Link-local addresses (IPv6 fe80::/10, IPv4 169.254/16) are only meaningful on their own link (an
 * IPv6 one needs its zone too): no other node or operator can reach this host by them.
 */
export function isLinkLocal(address: string): boolean {
  const a = address.toLowerCase();
  if (a.includes(':')) return /^fe[89ab][0-9a-f]:/.test(a);
  return a.startsWith('169.254.');
}

type Interfaces = ReturnType<typeof networkInterfaces>;

export function hostAddresses(interfaces: Interfaces = networkInterfaces()): string[] {
  const out: string[] = [];
  for (const addrs of Object.values(interfaces)) {
    for (const a of addrs ?? []) if (!a.internal && !isLinkLocal(a.address)) out.push(a.address);
  }
  // IPv4 first; at most as many as the hub accepts (proto/limits.ts).
  return out
    .sort((a, b) => Number(a.includes(':')) - Number(b.includes(':')))
    .filter((a) => a.length <= LIMITS.address.max)
    .slice(0, COUNT_LIMITS.addresses);
}

export interface Facts {
  hostname: string;
  os: string;
  kernel: string;
  arch: string;
  cpus: number;
  memoryBytes: number;
  addresses: string[];
  bootId: string;
  machineId: string;
  /** From DMI (agent/provider.ts); '' when the host does not say. */
  provider: string;
}

export function collectFacts(): Facts {
  return {
    hostname: hostname(),
    os: clampText(osName(), LIMITS.os.max).replace(/\t/g, ' '),
    kernel: clampText(release(), LIMITS.kernel.max).replace(/\t/g, ' '),
    arch: ARCH[nodeArch()] ?? nodeArch(),
    cpus: cpus().length,
    memoryBytes: totalmem(),
    addresses: hostAddresses(),
    bootId: bootId(),
    machineId: machineId(),
    provider: providerFromDmi(),
  };
}
