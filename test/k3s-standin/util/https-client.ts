// One HTTPS request with the TLS knobs k3s clients use, failing with Go net/http's wording
// (`Get "https://...": dial tcp 127.0.0.1:6443: connect: connection refused`).
import { request } from 'node:https';
import { STATUS_CODES } from 'node:http';

export interface HttpsOptions {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
  /** Trusted CA bundle (PEM). Without it the OS trust store is used. */
  readonly ca?: string | Buffer;
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  readonly insecure?: boolean;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface HttpsResult {
  readonly status: number;
  /** Go's resp.Status, e.g. "401 Unauthorized". */
  readonly statusLine: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

export class GoHttpError extends Error {}

function goMethod(m: string): string {
  return m.charAt(0).toUpperCase() + m.slice(1).toLowerCase();
}

function describe(err: NodeJS.ErrnoException & { host?: string }, u: URL): string {
  const hp = `${u.hostname.replace(/^\[|\]$/g, '')}:${u.port || '443'}`;
  switch (err.code) {
    case 'ECONNREFUSED':
      return `dial tcp ${hp}: connect: connection refused`;
    case 'EHOSTUNREACH':
      return `dial tcp ${hp}: connect: no route to host`;
    case 'ENETUNREACH':
      return `dial tcp ${hp}: connect: network is unreachable`;
    case 'ECONNRESET':
      return `read tcp ${hp}: read: connection reset by peer`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `dial tcp: lookup ${u.hostname}: no such host`;
    case 'ETIMEDOUT':
    case 'ABORT_TIMEOUT':
      return 'context deadline exceeded (Client.Timeout exceeded while awaiting headers)';
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'CERT_SIGNATURE_FAILURE':
      return 'tls: failed to verify certificate: x509: certificate signed by unknown authority';
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `tls: failed to verify certificate: x509: certificate is not valid for ${u.hostname}`;
    case 'CERT_HAS_EXPIRED':
      return 'tls: failed to verify certificate: x509: certificate has expired or is not yet valid';
    default:
      return err.message;
  }
}

export function httpsRequest(url: string, opts: HttpsOptions = {}): Promise<HttpsResult> {
  const u = new URL(url);
  const method = opts.method ?? 'GET';
  const fail = (msg: string): GoHttpError => new GoHttpError(`${goMethod(method)} "${url}": ${msg}`);
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (fn: () => void): void => {
      if (!settled) {
        settled = true;
        fn();
      }
    };
    const req = request(
      u,
      {
        method,
        headers: { 'User-Agent': 'k3s/standin', ...(opts.headers ?? {}) },
        ca: opts.ca,
        cert: opts.cert,
        key: opts.key,
        rejectUnauthorized: !opts.insecure,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          done(() =>
            resolve({
              status: res.statusCode ?? 0,
              statusLine: `${res.statusCode ?? 0} ${STATUS_CODES[res.statusCode ?? 0] ?? ''}`.trim(),
              headers: res.headers,
              body: Buffer.concat(chunks),
            }),
          ),
        );
        res.on('error', (e: NodeJS.ErrnoException) => done(() => reject(fail(describe(e, u)))));
      },
    );
    const timer = setTimeout(() => {
      done(() => reject(fail(describe({ name: 'Error', message: 'timeout', code: 'ABORT_TIMEOUT' }, u))));
      req.destroy();
    }, opts.timeoutMs ?? 10_000);
    const onAbort = (): void => {
      done(() => reject(fail('context canceled')));
      req.destroy();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (e: NodeJS.ErrnoException) => done(() => reject(fail(describe(e, u)))));
    req.on('close', () => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    });
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}
