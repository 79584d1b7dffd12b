// The admin commands' client for the dashboard API: HTTPS pinned to the hub CA, bearer admin token.
import { request, type RequestOptions } from 'node:https';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CliError } from './output.js';
import { contextsPath, getContext, readContexts, type HubContext } from './contexts.js';

export interface ApiClient {
  call<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
}

export interface ClientSettings {
  url: string;
  token: string;
  caPem?: string;
  /** Where the settings came from, for messages: "context prod", "ATOLL_API_URL", "data dir ./.atoll". */
  source: string;
}

export interface ResolveOptions {
  /** --data-dir as given (ATOLL_DATA_DIR counts as given). */
  dataDir?: string;
  /** Where a local hub keeps its state when nothing else is given. */
  defaultDataDir: string;
  /** --context */
  context?: string;
  /** --ca */
  ca?: string;
}

const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

function readFileOr(path: string, what: string, hint: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliError(
      `cannot read ${what} at ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); ${hint}`,
    );
  }
}

function fromContext(
  name: string,
  env: NodeJS.ProcessEnv,
): { url: string; token: string; ca?: string; source: string } {
  const path = contextsPath(env);
  const c: HubContext = getContext(readContexts(path), name, path);
  const token =
    c.token ??
    (c.tokenFile
      ? readFileOr(c.tokenFile, 'the token file', `fix context "${name}" (atoll-hub context add ${name} ...)`).trim()
      : '');
  return { url: c.url, token, ca: c.ca, source: `context ${name}` };
}

function fromDataDir(dataDir: string, env: NodeJS.ProcessEnv): { url: string; token: string; source: string } {
  const runtime = join(dataDir, 'hub.json');
  if (!existsSync(runtime))
    throw new CliError(
      `no running hub found in ${dataDir} (no hub.json); start one with "atoll-hub run", or point at one with --context NAME or ATOLL_API_URL`,
    );
  const url = (JSON.parse(readFileSync(runtime, 'utf8')) as { apiUrl: string }).apiUrl;
  const token =
    env.ATOLL_ADMIN_TOKEN ??
    readFileOr(
      join(dataDir, 'admin-token'),
      'the admin token',
      "set ATOLL_ADMIN_TOKEN or run as the hub's user",
    ).trim();
  return { url, token, source: `data dir ${dataDir}` };
}

/**
 * Which hub, which token, which CA. In order: --context / ATOLL_CONTEXT; ATOLL_API_URL (with
 * ATOLL_ADMIN_TOKEN); --data-dir / ATOLL_DATA_DIR; the current context; the default data dir.
 * ATOLL_ADMIN_TOKEN always overrides the token, --ca / ATOLL_CA_FILE the CA.
 */
export function resolveClientSettings(o: ResolveOptions, env: NodeJS.ProcessEnv): ClientSettings {
  const contextName = o.context ?? env.ATOLL_CONTEXT;
  let base: { url: string; token: string; ca?: string; source: string };
  let dataDir: string | undefined;
  if (contextName) base = fromContext(contextName, env);
  else if (env.ATOLL_API_URL) {
    dataDir = o.dataDir ?? o.defaultDataDir;
    const token =
      env.ATOLL_ADMIN_TOKEN ??
      (existsSync(join(dataDir, 'admin-token')) ? readFileSync(join(dataDir, 'admin-token'), 'utf8').trim() : '');
    if (!token)
      throw new CliError(
        'ATOLL_API_URL is set but no token: set ATOLL_ADMIN_TOKEN (or use a context: atoll-hub context add)',
      );
    base = { url: env.ATOLL_API_URL, token, source: 'ATOLL_API_URL' };
  } else if (o.dataDir) {
    dataDir = o.dataDir;
    base = fromDataDir(dataDir, env);
  } else {
    const current = readContexts(contextsPath(env)).current;
    if (current) base = fromContext(current, env);
    else {
      dataDir = o.defaultDataDir;
      base = fromDataDir(dataDir, env);
    }
  }
  const token = env.ATOLL_ADMIN_TOKEN ?? base.token;
  if (!token) throw new CliError(`no token for ${base.source}`);
  try {
    new URL(base.url);
  } catch {
    throw new CliError(`${base.source}: "${base.url}" is not a URL`);
  }
  const caFile =
    o.ca ??
    env.ATOLL_CA_FILE ??
    base.ca ??
    (dataDir && existsSync(join(dataDir, 'ca.crt')) ? join(dataDir, 'ca.crt') : undefined);
  const caPem = caFile
    ? readFileOr(resolve(caFile), 'the hub CA', "give the hub's ca.crt with --ca FILE or ATOLL_CA_FILE")
    : undefined;
  return { url: base.url, token, caPem, source: base.source };
}

const TLS_TRUST_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** A connection failure, with what to do when the hub's certificate is not trusted. */
export function connectError(s: ClientSettings, e: NodeJS.ErrnoException): CliError {
  const hint =
    e.code && TLS_TRUST_CODES.has(e.code)
      ? `; the hub's certificate is not trusted${s.caPem ? ' by the CA given' : ''}: give the hub CA (its <data-dir>/ca.crt) with --ca FILE or ATOLL_CA_FILE`
      : '';
  return new CliError(`cannot reach the hub API at ${s.url} (${s.source}): ${e.message}${hint}`);
}

/** What an error response says, whatever its shape: the hub's {"error": {code, message}}, another JSON, text or HTML. */
export function describeHttpError(status: number, statusText: string, contentType: string, text: string): string {
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  const err = (json as { error?: unknown } | undefined)?.error;
  if (err && typeof err === 'object' && typeof (err as { message?: unknown }).message === 'string') {
    const e = err as { code?: unknown; message: string };
    return `${e.message} (${typeof e.code === 'string' ? `${e.code}, ` : ''}HTTP ${status})`;
  }
  const head = `HTTP ${status}${statusText ? ` ${statusText}` : ''}`;
  const message = (json as { message?: unknown } | undefined)?.message;
  if (typeof message === 'string' && message) return `${head}: ${message.slice(0, 300)}`;
  const plain = (/html/i.test(contentType) ? text.replace(/<[^>]*>/g, ' ') : text).replace(/\s+/g, ' ').trim();
  return plain ? `${head}: ${plain.slice(0, 300)}` : `${head} (empty response)`;
}

export function requestOptions(
  s: ClientSettings,
  method: string,
  headers: Record<string, string | number> = {},
): RequestOptions {
  return { method, ca: s.caPem, minVersion: 'TLSv1.2', headers: { authorization: `Bearer ${s.token}`, ...headers } };
}

export function createApiClient(s: ClientSettings): ApiClient {
  return {
    call<T>(method: string, path: string, body?: unknown): Promise<T> {
      const url = new URL(path, s.url);
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      return new Promise<T>((resolvePromise, reject) => {
        const req = request(
          url,
          {
            ...requestOptions(s, method, {
              accept: 'application/json',
              ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
            }),
            timeout: 30_000,
          },
          (res) => {
            const chunks: Buffer[] = [];
            let size = 0;
            res.on('data', (c: Buffer) => {
              size += c.length;
              if (size > MAX_RESPONSE_BYTES) req.destroy(new Error(`response over ${MAX_RESPONSE_BYTES} bytes`));
              else chunks.push(c);
            });
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              const status = res.statusCode ?? 0;
              if (status >= 200 && status < 300) {
                try {
                  return resolvePromise((text ? JSON.parse(text) : undefined) as T);
                } catch {
                  return resolvePromise(text as T); // not JSON (e.g. a kubeconfig): hand back the text
                }
              }
              reject(
                new CliError(
                  describeHttpError(status, res.statusMessage ?? '', String(res.headers['content-type'] ?? ''), text),
                ),
              );
            });
          },
        );
        req.on('timeout', () => req.destroy(new Error('timed out after 30s')));
        req.on('error', (e: NodeJS.ErrnoException) => reject(e instanceof CliError ? e : connectError(s, e)));
        req.end(payload);
      });
    },
  };
}
