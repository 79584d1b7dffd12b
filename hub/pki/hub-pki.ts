// The hub's own PKI on disk: the CA (made at first start) and the serving certificate used by both
// listeners, re-issued when its names change or it nears expiry. The serving key is made once and
// kept across re-issues: the install line pins it (curl --pinnedpubkey), so a line printed today
// still works after the certificate is renewed.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isIP } from 'node:net';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { networkInterfaces, hostname } from 'node:os';
import { createCa, type CaMaterial } from '../../certs/ca.js';
import { issueServerCert } from '../../certs/issue.js';
import { verifyIssuedBy } from '../../certs/inspect.js';
import { caPin, spkiPin } from '../../certs/pin.js';
import { writePublicFile, writeSecretFile, checkSecretFileMode } from '../../certs/files.js';

export interface HubPki {
  ca: CaMaterial;
  caPin: string;
  serving: { certPem: string; keyPem: string };
  /** curl --pinnedpubkey value of the serving key (sha256//base64). */
  servingPin: string;
  /** 48 bytes of TLS session ticket keys, kept (0600) so tickets outlive a hub restart. */
  ticketKeys: Buffer;
}

function loadOrCreateTicketKeys(dataDir: string): Buffer {
  const p = join(dataDir, 'tls-ticket-keys');
  if (existsSync(p)) {
    checkSecretFileMode(p);
    const b = readFileSync(p);
    if (b.length === 48) return b;
  }
  const keys = randomBytes(48);
  writeSecretFile(p, keys);
  return keys;
}

function isPrivateKey(pem: string): boolean {
  try {
    createPrivateKey(pem);
    return true;
  } catch {
    return false;
  }
}

const RENEW_BEFORE_MS = 30 * 86_400_000;

export function servingNames(
  publicUrl: string,
  extraHosts: string[] = [],
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

export async function loadOrCreatePki(dataDir: string, publicUrl: string): Promise<HubPki & { created: boolean }> {
  const caCrt = join(dataDir, 'ca.crt');
  const caKey = join(dataDir, 'ca.key');
  let created = false;
  let ca: CaMaterial;
  if (existsSync(caCrt) && existsSync(caKey)) {
    checkSecretFileMode(caKey);
    ca = { certPem: readFileSync(caCrt, 'utf8'), keyPem: readFileSync(caKey, 'utf8') };
  } else {
    ca = await createCa({ commonName: 'atoll-hub-ca' });
    writeSecretFile(caKey, ca.keyPem);
    writePublicFile(caCrt, ca.certPem);
    created = true;
  }
  const serving = await ensureServingCert(dataDir, ca, publicUrl);
  return {
    ca,
    caPin: caPin(ca.certPem),
    serving,
    servingPin: spkiPin(serving.certPem),
    created,
    ticketKeys: loadOrCreateTicketKeys(dataDir),
  };
}

async function ensureServingCert(
  dataDir: string,
  ca: CaMaterial,
  publicUrl: string,
): Promise<{ certPem: string; keyPem: string }> {
  const crt = join(dataDir, 'serving.crt');
  const key = join(dataDir, 'serving.key');
  const names = servingNames(publicUrl);
  let keyPem: string | undefined;
  if (existsSync(key)) {
    checkSecretFileMode(key);
    keyPem = readFileSync(key, 'utf8');
    if (!isPrivateKey(keyPem)) keyPem = undefined; // unreadable: a new key (and pin) below
  }
  if (keyPem && existsSync(crt)) {
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
  // Re-issue for the same key when there is one, so the pin in printed install lines holds.
  const issued = await issueServerCert(ca, {
    commonName: 'atoll-hub',
    dnsNames: names.dnsNames,
    ipAddresses: names.ipAddresses,
    keyPem,
  });
  if (!keyPem) writeSecretFile(key, issued.keyPem);
  writePublicFile(crt, issued.certPem);
  return { certPem: issued.certPem, keyPem: issued.keyPem };
}
