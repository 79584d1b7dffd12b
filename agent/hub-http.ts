// Plain HTTPS calls to the hub gateway: the CA fetch (not yet trusted, checked against the token's
// pin), the join (trusted: pinned CA), and the identity check (with the node's client certificate).
import { request } from 'node:https';
import { AgentError } from './errors.js';

export interface HttpResult {
  status: number;
  body: string;
}

export function httpsCall(
  url: string,
  opts: {
    method?: string;
    ca?: string;
    cert?: string;
    key?: string;
    insecure?: boolean;
    body?: unknown;
    timeoutMs?: number;
  },
): Promise<HttpResult> {
  const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: opts.method ?? 'GET',
        ca: opts.ca,
        cert: opts.cert,
        key: opts.key,
        rejectUnauthorized: !opts.insecure,
        minVersion: 'TLSv1.2',
        timeout: opts.timeoutMs ?? 10_000,
        headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > 1024 * 1024) req.destroy(new Error('response too large'));
          else chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${opts.timeoutMs ?? 10_000} ms`)));
    req.on('error', (err: Error & { code?: string }) => {
      const tls = /CERT|SSL|TLS|self.signed|altname/i.test(`${err.code ?? ''} ${err.message}`);
      reject(
        new AgentError(
          tls ? 'TLS' : 'HUB_UNREACHABLE',
          `${tls ? 'TLS check of the hub failed' : 'cannot reach the hub'} at ${url}: ${err.message}`,
        ),
      );
    });
    req.end(payload);
  });
}

export function errorMessage(body: string): { code: string; message: string } {
  try {
    const e = (JSON.parse(body) as { error?: { code?: string; message?: string } }).error;
    if (e?.message) return { code: e.code ?? 'ERROR', message: e.message };
  } catch {
    // not JSON
  }
  return { code: 'ERROR', message: body.slice(0, 300) || 'no message' };
}
