// The server's certificates under <data-dir>/server/tls, created once and reused across restarts
// (the serving certificate is re-issued at each start so new --tls-san values take effect).
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCa, generateKey, issueLeaf, type CertAndKey, type LeafRequest } from './cert-factory.js';
import { writeFileAtomic } from '../util/atomic-write.js';

export interface ServerPki {
  /** Exact bytes served at /cacerts and hashed into tokens. */
  readonly serverCaPem: string;
  readonly serverCa: CertAndKey;
  readonly clientCa: CertAndKey;
  /** The front proxy's CA (request-header-ca) and the service-account signing key: made, not used. */
  readonly requestHeaderCa?: CertAndKey;
  readonly serving: CertAndKey;
  readonly admin: CertAndKey;
  readonly tlsDir: string;
}

function loadOrCreate(dir: string, name: string, make: () => CertAndKey): CertAndKey {
  const crt = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  if (existsSync(crt) && existsSync(key))
    return { certPem: readFileSync(crt, 'utf8'), keyPem: readFileSync(key, 'utf8') };
  const made = make();
  writeFileAtomic(key, made.keyPem, 0o600);
  writeFileAtomic(crt, made.certPem, 0o644);
  return made;
}

function sanList(want: { dnsNames: readonly string[]; ips: readonly string[] }): string {
  return [...want.dnsNames.map((d) => `DNS:${d}`), ...want.ips.map((ip) => `IP:${ip}`)].sort().join(',');
}

/** The existing serving certificate, if it was issued for exactly these names and is not near expiry. */
function reuseServing(
  dir: string,
  want: { dnsNames: readonly string[]; ips: readonly string[] },
): CertAndKey | undefined {
  const crt = join(dir, 'serving-kube-apiserver.crt');
  const key = join(dir, 'serving-kube-apiserver.key');
  const sans = join(dir, 'serving-kube-apiserver.sans');
  if (!existsSync(crt) || !existsSync(key) || !existsSync(sans)) return undefined;
  try {
    if (readFileSync(sans, 'utf8') !== sanList(want)) return undefined;
    const certPem = readFileSync(crt, 'utf8');
    if (Date.parse(new X509Certificate(certPem).validTo) - Date.now() < 30 * 86_400_000) return undefined;
    return { certPem, keyPem: readFileSync(key, 'utf8') };
  } catch {
    return undefined;
  }
}

/** `full`: also the request-header CA and service-account key, which k3s shares through the datastore. */
export function ensureServerPki(
  dataDir: string,
  serving: { dnsNames: readonly string[]; ips: readonly string[] },
  full = false,
): ServerPki {
  const tlsDir = join(dataDir, 'server', 'tls');
  mkdirSync(tlsDir, { recursive: true, mode: 0o700 });
  const stamp = Math.floor(Date.now() / 1000);
  const serverCa = loadOrCreate(tlsDir, 'server-ca', () => createCa(`k3s-server-ca@${stamp}`));
  const clientCa = loadOrCreate(tlsDir, 'client-ca', () => createCa(`k3s-client-ca@${stamp}`));
  const requestHeaderCa = full
    ? loadOrCreate(tlsDir, 'request-header-ca', () => createCa(`k3s-request-header-ca@${stamp}`))
    : undefined;
  if (full && !existsSync(join(tlsDir, 'service.key')))
    writeFileAtomic(join(tlsDir, 'service.key'), generateKey().keyPem, 0o600);
  const admin = loadOrCreate(tlsDir, 'client-admin', () =>
    issueLeaf(clientCa, { cn: 'system:admin', orgs: ['system:masters'], usage: 'client' }),
  );
  const leaf =
    reuseServing(tlsDir, serving) ??
    issueLeaf(serverCa, { cn: 'k3s', orgs: ['k3s'], usage: 'server', dnsNames: serving.dnsNames, ips: serving.ips });
  writeFileSync(join(tlsDir, 'serving-kube-apiserver.key'), leaf.keyPem, { mode: 0o600 });
  writeFileSync(join(tlsDir, 'serving-kube-apiserver.crt'), leaf.certPem, { mode: 0o644 });
  writeFileSync(join(tlsDir, 'serving-kube-apiserver.sans'), sanList(serving), { mode: 0o644 });
  return {
    serverCaPem: serverCa.certPem,
    serverCa,
    clientCa,
    ...(requestHeaderCa ? { requestHeaderCa } : {}),
    serving: leaf,
    admin,
    tlsDir,
  };
}

/** A shared client certificate the server hands to every agent (kube-proxy, k3s-controller). */
export function sharedClientCert(pki: ServerPki, name: string, req: LeafRequest): CertAndKey {
  return loadOrCreate(pki.tlsDir, name, () => issueLeaf(pki.clientCa, req));
}
