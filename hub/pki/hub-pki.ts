// The hub's PKI in use: the CA and the serving certificate used by both listeners, re-issued when its
// names change or it nears expiry. The keys come from the store, sealed (open-state.ts, hub-secrets.ts);
// only the public halves are files here: ca.crt and this hub's serving.crt. The serving key is made
// once per cluster and kept across re-issues: the install line pins it (curl --pinnedpubkey), so a
// line printed today still works after the certificate is renewed.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isIP } from 'node:net';
import { networkInterfaces, hostname } from 'node:os';
import type { CaMaterial } from '../../certs/ca.js';
import { issueServerCert } from '../../certs/issue.js';
import { verifyIssuedBy } from '../../certs/inspect.js';
import { caPin, spkiPin } from '../../certs/pin.js';
import { writePublicFile } from '../../certs/files.js';

export interface HubPki {
  ca: CaMaterial;
  caPin: string;
  serving: { certPem: string; keyPem: string };
  /** curl --pinnedpubkey value of the serving key (sha256//base64). */
  servingPin: string;
  /** 48 bytes of TLS session ticket keys, kept (sealed in the store) so tickets outlive a hub restart. */
  ticketKeys: Buffer;
}

const RENEW_BEFORE_MS = 30 * 86_400_000;

export function servingNames(
  publicUrl: string,
  extraHosts: readonly string[] = [],
): { dnsNames: string[]; ipAddresses: string[] } {
  const dns = new Set<string>(['localhost', hostname()]);
  const ips = new Set<string>(['127.0.0.1', '::1']);
  for (const addrs of Object.values(networkInterfaces())) for (const a of addrs ?? []) ips.add(a.address.split('%')[0]);
  for (const h of [new URL(publicUrl).hostname.replace(/^\[|\]$/g, ''), ...extraHosts]) {
    if (isIP(h)) ips.add(h);
    else if (h) dns.add(h);
  }
  return { dnsNames: [...dns].sort(), ipAddresses: [...ips].sort() };
}

/** The PKI from the CA and keys in the store; writes serving.crt when it needs a new one. */
export async function buildHubPki(
  dataDir: string,
  publicUrl: string,
  ca: CaMaterial,
  keys: { servingKeyPem: string; ticketKeys: Buffer },
  extraHosts: readonly string[] = [],
): Promise<HubPki> {
  const serving = await ensureServingCert(dataDir, ca, keys.servingKeyPem, publicUrl, extraHosts);
  return {
    ca,
    caPin: caPin(ca.certPem),
    serving,
    servingPin: spkiPin(serving.certPem),
    ticketKeys: keys.ticketKeys,
  };
}

/** This hub's serving certificate for `keyPem`: the one in serving.crt while it fits, else a new one. */
export async function ensureServingCert(
  dataDir: string,
  ca: CaMaterial,
  keyPem: string,
  publicUrl: string,
  extraHosts: readonly string[] = [],
): Promise<{ certPem: string; keyPem: string }> {
  const crt = join(dataDir, 'serving.crt');
  const names = servingNames(publicUrl, extraHosts);
  if (existsSync(crt)) {
    const certPem = readFileSync(crt, 'utf8');
    try {
      const info = verifyIssuedBy(certPem, ca.certPem);
      const hasAll =
        names.dnsNames.every((n) => info.dnsNames.includes(n)) &&
        names.ipAddresses.every((ip) => info.ipAddresses.includes(ip));
      const fresh = info.notAfter.getTime() - Date.now() > RENEW_BEFORE_MS;
      if (hasAll && fresh && spkiPin(certPem) === spkiPin(keyPem)) return { certPem, keyPem };
    } catch {
      // unreadable, or from another CA: re-issue below
    }
  }
  // Always for the same key, so the pin in printed install lines holds.
  const issued = await issueServerCert(ca, {
    commonName: 'atoll-hub',
    dnsNames: names.dnsNames,
    ipAddresses: names.ipAddresses,
    keyPem,
  });
  writePublicFile(crt, issued.certPem);
  return { certPem: issued.certPem, keyPem };
}
