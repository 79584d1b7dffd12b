// Talks to the k3s listener the way clients do: with or without the kubeconfig's client certificate.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';

export interface Creds {
  readonly server: string;
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

export function readKubeconfig(path: string): Creds {
  const text = readFileSync(path, 'utf8');
  const grab = (k: string): Buffer => {
    const m = new RegExp(`${k}: (\\S+)`).exec(text);
    if (!m) throw new Error(`${k} missing in ${path}`);
    return Buffer.from(m[1] as string, 'base64');
  };
  const server = /server: (\S+)/.exec(text)?.[1] ?? '';
  return {
    server,
    ca: grab('certificate-authority-data'),
    cert: grab('client-certificate-data'),
    key: grab('client-key-data'),
  };
}

export interface Reply {
  readonly status: number;
  readonly text: string;
  readonly headers: Record<string, string | string[] | undefined>;
  json<T = Record<string, unknown>>(): T;
}

export interface CallOptions {
  readonly method?: string;
  readonly body?: unknown;
  readonly contentType?: string;
  /** false: no client certificate (anonymous). */
  readonly auth?: boolean;
  readonly headers?: Record<string, string>;
}

export function call(c: Creds, path: string, o: CallOptions = {}): Promise<Reply> {
  const url = new URL(path, c.server);
  const body = o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: o.method ?? 'GET',
        ca: c.ca,
        ...(o.auth === false ? {} : { cert: c.cert, key: c.key }),
        agent: false,
        headers: {
          Accept: 'application/json',
          ...(body !== undefined ? { 'Content-Type': o.contentType ?? 'application/json' } : {}),
          ...(o.headers ?? {}),
        },
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, text, headers: res.headers, json: <T>() => JSON.parse(text) as T });
        });
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`timeout on ${path}`)));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** Polls until `fn` returns a value (not undefined) or the time is up. */
export async function eventually<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** GET without verifying the server (what `curl -k` does), for /ping and /cacerts. */
export function insecureGet(url: string): Promise<{ status: number; body: Buffer; contentType: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { rejectUnauthorized: false, agent: false, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks),
          contentType: String(res.headers['content-type'] ?? ''),
        }),
      );
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`timeout on ${url}`)));
    req.end();
  });
}
