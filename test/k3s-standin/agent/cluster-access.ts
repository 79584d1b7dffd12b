// clientaccess.ParseAndValidateToken: parse the token, fetch /cacerts, check the CA against the
// token's hash; and Info.Get for supervisor paths. Error texts are k3s's.
import type { ParsedToken } from '../util/k10-token.js';
import { authHeader, hashCA, parseToken } from '../util/k10-token.js';
import { httpsRequest, type HttpsResult } from '../util/https-client.js';
import type { Logger } from '../util/log.js';
import type { ServerSelector } from '../util/server-selector.js';

export interface ClusterInfo {
  readonly baseUrl: string;
  /** Empty when the server certificate is trusted by the OS bundle. */
  readonly caCerts: Buffer;
  readonly token: ParsedToken;
  readonly certFile?: { cert: Buffer; key: Buffer };
  /** The agent's load balancer: requests go to the server it picks instead of baseUrl. */
  readonly servers?: ServerSelector;
}

/** clientaccess readBody: a Status body becomes its message; else "<url>: <status line>". */
export function bodyOrError(url: string, res: HttpsResult): Buffer {
  if (res.status >= 200 && res.status < 300) return res.body;
  try {
    const st = JSON.parse(res.body.toString('utf8')) as { kind?: string; message?: string };
    if (st.kind === 'Status') throw new Error(st.message ?? '');
  } catch (e) {
    if (e instanceof Error && !(e instanceof SyntaxError)) throw e;
  }
  throw new Error(`${url}: ${res.statusLine}`);
}

async function getCACerts(base: string): Promise<Buffer> {
  const url = `${base}/cacerts`;
  try {
    bodyOrError(url, await httpsRequest(url));
    return Buffer.alloc(0);
  } catch {
    // expected: the cluster CA is self-signed
  }
  let cacerts: Buffer;
  try {
    cacerts = bodyOrError(url, await httpsRequest(url, { insecure: true }));
  } catch (e) {
    throw new Error(`failed to get CA certs: ${(e as Error).message}`, { cause: e });
  }
  try {
    bodyOrError(url, await httpsRequest(url, { ca: cacerts }));
  } catch (e) {
    throw new Error(`CA cert validation failed: ${(e as Error).message}`);
  }
  return cacerts;
}

export async function parseAndValidateToken(
  server: string,
  token: string,
  log: Logger,
  cert?: { cert: Buffer; key: Buffer },
): Promise<ClusterInfo> {
  const parsed = parseToken(token);
  let u: URL;
  try {
    u = new URL(server);
  } catch {
    throw new Error(`Invalid server url, failed to parse: ${server}`);
  }
  if (u.protocol !== 'https:') throw new Error(`only https:// URLs are supported, invalid scheme: ${server}`);
  const base = `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
  const caCerts = await getCACerts(base);
  if (parsed.caHash && caCerts.length === 0) {
    log.warn('Cluster CA certificate is trusted by the host CA bundle. Token CA hash will not be validated.');
  } else if (!parsed.caHash && caCerts.length > 0) {
    log.warn(
      "Cluster CA certificate is not trusted by the host CA bundle, but the token does not include a CA hash. Use the full token from the server's node-token file to enable Cluster CA validation.",
    );
  } else if (parsed.caHash && caCerts.length > 0) {
    const serverHash = hashCA(caCerts);
    if (serverHash !== parsed.caHash)
      throw new Error(
        `token CA hash does not match the Cluster CA certificate hash: ${parsed.caHash} != ${serverHash}`,
      );
  }
  return { baseUrl: base, caCerts, token: { ...parsed, username: 'node' }, ...(cert ? { certFile: cert } : {}) };
}

export interface GetOptions {
  readonly headers?: Readonly<Record<string, string>>;
  readonly withCert?: boolean;
}

/** Info.Get with the token's credentials (and the kubelet client cert when present). */
export async function infoGet(info: ClusterInfo, path: string, opts: GetOptions = {}): Promise<HttpsResult> {
  const useCert = (opts.withCert ?? true) && info.certFile !== undefined;
  const send = (base: string): Promise<HttpsResult> =>
    httpsRequest(`${base}${path}`, {
      headers: { Authorization: authHeader(info.token, 'node'), ...(opts.headers ?? {}) },
      ...(info.caCerts.length ? { ca: info.caCerts } : {}),
      ...(useCert && info.certFile ? { cert: info.certFile.cert, key: info.certFile.key } : {}),
    });
  return info.servers ? info.servers.run(send) : send(info.baseUrl);
}
