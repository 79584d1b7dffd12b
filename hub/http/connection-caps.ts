// Default connection caps from the process's open-file limit. Node raises its soft RLIMIT_NOFILE to
// the hard limit at start, so the limit read here is what the service manager allows (LimitNOFILE,
// rc_ulimit, ulimit -Hn); the caps keep the listeners below it with room for everything else.
import { readFileSync } from 'node:fs';
import type { ConnectionCaps, Listener } from './connection-limits.js';
import type { Logger } from '../logger.js';

/** File descriptors kept free for the store, logs, k3s pipes, artifact reads and the like. */
export const RESERVED_FDS = 256;
/** Assumed where the limit cannot be read (no /proc). */
export const FALLBACK_NOFILE = 1024;
/** Below this many gateway connections the hub says at start that the limit is low. */
const WANTED_AGENTS = 10_000;

/** The soft open-file limit of this process (Linux /proc), or undefined where it cannot be read. */
export function openFileLimit(limitsText?: string): number | undefined {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return undefined;
    }
  }
  const m = /^Max open files\s+(\S+)/m.exec(text);
  if (!m) return undefined;
  if (m[1] === 'unlimited') return Number.MAX_SAFE_INTEGER;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/**
 * Default caps for a process allowed `nofile` descriptors: the API gets an eighth of what is left
 * after RESERVED_FDS (at most 1024), the gateway the rest; one source may hold a quarter of the
 * gateway (at most 1024: room for a NAT in front of many agents) and half of the API (at most 256).
 */
export function defaultCaps(nofile: number): Record<Listener, ConnectionCaps> {
  const usable = Math.max(64, nofile - RESERVED_FDS);
  const apiTotal = Math.max(16, Math.min(1024, Math.floor(usable / 8)));
  const gatewayTotal = Math.max(16, usable - apiTotal);
  return {
    api: { maxTotal: apiTotal, maxPerSource: Math.max(8, Math.min(256, Math.floor(apiTotal / 2))) },
    gateway: { maxTotal: gatewayTotal, maxPerSource: Math.max(8, Math.min(1024, Math.floor(gatewayTotal / 4))) },
  };
}

/** Caps from flags where given, else the defaults for `nofile`. */
export function resolveCaps(
  nofile: number,
  given: Readonly<Record<Listener, Readonly<Partial<ConnectionCaps>>>>,
): Record<Listener, ConnectionCaps> {
  const d = defaultCaps(nofile);
  const pick = (l: Listener): ConnectionCaps => ({
    maxTotal: given[l].maxTotal ?? d[l].maxTotal,
    maxPerSource: given[l].maxPerSource ?? d[l].maxPerSource,
  });
  return { api: pick('api'), gateway: pick('gateway') };
}

/** The caps this hub runs with; logged, with a warning when the limit leaves room for few agents. */
export function connectionCapsFor(
  config: { connectionCaps: Readonly<Record<Listener, Readonly<Partial<ConnectionCaps>>>> },
  logger: Logger,
  limitsText?: string,
): Record<Listener, ConnectionCaps> {
  const read = openFileLimit(limitsText);
  const nofile = read ?? FALLBACK_NOFILE;
  const caps = resolveCaps(nofile, config.connectionCaps);
  const fields = {
    component: 'connections',
    openFileLimit: read ?? `unknown (assumed ${FALLBACK_NOFILE})`,
    api: caps.api,
    gateway: caps.gateway,
  };
  if (caps.gateway.maxTotal < WANTED_AGENTS && config.connectionCaps.gateway.maxTotal === undefined) {
    logger.warn(
      fields,
      `the open-file limit allows ${caps.gateway.maxTotal} agent connections; raise it (systemd LimitNOFILE=1048576, OpenRC rc_ulimit="-n 65536", or ulimit -n before starting the hub)`,
    );
  } else {
    logger.info(fields, 'connection caps');
  }
  return caps;
}
