// The hub's two listeners, tried before anything is written: a port in use (or an address this host
// does not have, or a port it may not bind) is refused with the flag that changes it.
import { createServer } from 'node:net';
import type { HubConfig, ListenAddress } from './config.js';
import { ConfigError } from './errors.js';

export interface Listener {
  what: string;
  flag: string;
  address: ListenAddress;
}

export function hubListeners(
  config: Pick<HubConfig, 'apiListen' | 'gatewayListen'> & Partial<Pick<HubConfig, 'autoscalerGrpcListen'>>,
): Listener[] {
  const grpc = config.autoscalerGrpcListen;
  return [
    { what: 'the dashboard API', flag: '--api-listen', address: config.apiListen },
    { what: 'the agent gateway', flag: '--gateway-listen', address: config.gatewayListen },
    ...(grpc ? [{ what: "cluster-autoscaler's gRPC service", flag: '--autoscaler-grpc-listen', address: grpc }] : []),
  ];
}

function hostPort(a: ListenAddress): string {
  return `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}

/** The refusal for a listen error `err` (errno code) of `l`, or undefined for other errors. */
export function listenRefusal(l: Listener, err: unknown): ConfigError | undefined {
  const code = (err as { code?: string }).code;
  const at = hostPort(l.address);
  const change = `pick another with ${l.flag} HOST:PORT`;
  if (code === 'EADDRINUSE')
    return new ConfigError(
      `cannot listen on ${at} for ${l.what}: the port is in use by another process; ${change} (ss -ltnp 'sport = :${l.address.port}' shows who has it)`,
    );
  if (code === 'EADDRNOTAVAIL')
    return new ConfigError(
      `cannot listen on ${at} for ${l.what}: this host has no address ${l.address.host}; ${change}`,
    );
  if (code === 'EACCES')
    return new ConfigError(
      `cannot listen on ${at} for ${l.what}: ports below 1024 need root; ${change} or run as root`,
    );
  return undefined;
}

function tryListen(a: ListenAddress): Promise<void> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ host: a.host, port: a.port, exclusive: true }, () => srv.close(() => resolve()));
  });
}

const ANY = new Set(['0.0.0.0', '::', '']);

/** Binds and releases each fixed port once; throws the first refusal. Port 0 needs no check. */
export async function checkListeners(listeners: Listener[]): Promise<void> {
  const [a, b] = listeners;
  if (
    a &&
    b &&
    a.address.port !== 0 &&
    a.address.port === b.address.port &&
    (a.address.host === b.address.host || ANY.has(a.address.host) || ANY.has(b.address.host))
  ) {
    throw new ConfigError(
      `${a.flag} ${hostPort(a.address)} and ${b.flag} ${hostPort(b.address)} would share a port: give them different ports`,
    );
  }
  for (const l of listeners) {
    if (l.address.port === 0) continue;
    try {
      await tryListen(l.address);
    } catch (err) {
      throw listenRefusal(l, err) ?? err;
    }
  }
}
