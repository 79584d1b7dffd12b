// The addresses a hub is known by, from its flags: --public-url (what agents join through, possibly a
// name shared by every hub), --gateway-url (this hub's own gateway, listed to agents in welcomes and
// in GET /v1/hubs so they fail over to it directly) and --tls-san (further names for the hub's and its
// k3s server's serving certificates). Every host here ends up in both certificates.
import { isIP } from 'node:net';
import type { Command } from 'commander';
import { ConfigError } from './errors.js';

/** At most this many --tls-san names (each a DNS name or an IP). */
export const MAX_TLS_SANS = 32;
const DNS_NAME = /^(?=.{1,253}$)(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

export interface HubAddresses {
  publicUrl: string;
  gatewayUrl: string;
  tlsSans: readonly string[];
}

function httpsOrigin(text: string, flag: string): string {
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new ConfigError(`${flag} "${text.slice(0, 300)}" is not a URL`);
  }
  if (parsed.protocol !== 'https:') throw new ConfigError(`${flag} must be https:// (got ${text.slice(0, 300)})`);
  return parsed.origin;
}

/** The host of an https URL, without IPv6 brackets. */
export function urlHost(url: string): string {
  return new URL(url).hostname.replace(/^\[|\]$/g, '');
}

/** --tls-san values (repeatable flag, or ATOLL_TLS_SAN comma-separated): DNS names or IPs, deduplicated. */
export function parseTlsSans(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of values.flatMap((v) => v.split(','))) {
    const v = raw
      .trim()
      .toLowerCase()
      .replace(/^\[|\]$/g, '');
    if (!v) continue;
    if (!isIP(v) && !DNS_NAME.test(v))
      throw new ConfigError(`--tls-san "${raw.trim().slice(0, 300)}" must be a DNS name or an IP address`);
    if (!out.includes(v)) out.push(v);
  }
  if (out.length > MAX_TLS_SANS) throw new ConfigError(`--tls-san: at most ${MAX_TLS_SANS} names (got ${out.length})`);
  return out;
}

export function parseHubAddresses(
  flags: { publicUrl?: string; gatewayUrl?: string; tlsSan?: string[] },
  env: NodeJS.ProcessEnv,
  defaultPublicUrl: () => string,
): HubAddresses {
  const publicUrl = httpsOrigin(flags.publicUrl ?? env.ATOLL_PUBLIC_URL ?? defaultPublicUrl(), '--public-url');
  const direct = flags.gatewayUrl ?? env.ATOLL_GATEWAY_URL;
  const gatewayUrl = direct ? httpsOrigin(direct, '--gateway-url') : publicUrl;
  const tlsSans = parseTlsSans(flags.tlsSan?.length ? flags.tlsSan : env.ATOLL_TLS_SAN ? [env.ATOLL_TLS_SAN] : []);
  return { publicUrl, gatewayUrl, tlsSans: Object.freeze(tlsSans) };
}

/**
 * The extra hosts both serving certificates need beyond --public-url's: --gateway-url's host and every
 * --tls-san, deduplicated, without the public host itself.
 */
export function extraCertHosts(a: HubAddresses): string[] {
  const pub = urlHost(a.publicUrl);
  return [...new Set([urlHost(a.gatewayUrl), ...a.tlsSans])].filter((h) => h !== pub);
}

/** --gateway-url and --tls-san on `atoll-hub run`. */
export function addAddressOptions(c: Command): Command {
  return c
    .option(
      '--gateway-url <url>',
      "this hub's own gateway URL, for agents (env ATOLL_GATEWAY_URL; default --public-url)",
    )
    .option(
      '--tls-san <name>',
      "a further DNS name or IP for the hub's and its k3s server's certificates (repeatable; env ATOLL_TLS_SAN, comma-separated)",
      (v: string, prev: string[] = []) => [...prev, v],
    );
}
