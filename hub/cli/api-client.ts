// The admin commands' client for the dashboard API: HTTPS pinned to the hub CA, bearer admin token.
import { request } from 'node:https';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from './output.js';

export interface ApiClient {
  call<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
}

export interface ClientSettings {
  url: string;
  token: string;
  caPem?: string;
}

/** ATOLL_API_URL / ATOLL_ADMIN_TOKEN win; otherwise the data dir's running hub and admin-token file. */
export function resolveClientSettings(dataDir: string, env: NodeJS.ProcessEnv): ClientSettings {
  let url = env.ATOLL_API_URL;
  if (!url) {
    const runtime = join(dataDir, 'hub.json');
    if (!existsSync(runtime)) throw new CliError(`no running hub found in ${dataDir} (no hub.json); start one with "atoll-hub run" or set ATOLL_API_URL`);
    url = (JSON.parse(readFileSync(runtime, 'utf8')) as { apiUrl: string }).apiUrl;
  }
  let token = env.ATOLL_ADMIN_TOKEN;
  if (!token) {
    const p = join(dataDir, 'admin-token');
    try {
      token = readFileSync(p, 'utf8').trim();
    } catch {
      throw new CliError(`cannot read the admin token at ${p}; set ATOLL_ADMIN_TOKEN or run as the hub's user`);
    }
  }
  const caPath = join(dataDir, 'ca.crt');
  return { url, token, caPem: existsSync(caPath) ? readFileSync(caPath, 'utf8') : undefined };
}

export function createApiClient(s: ClientSettings): ApiClient {
  return {
    call<T>(method: string, path: string, body?: unknown): Promise<T> {
      const url = new URL(path, s.url);
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      return new Promise<T>((resolve, reject) => {
        const req = request(url, {
          method,
          ca: s.caPem,
          minVersion: 'TLSv1.2',
          timeout: 30_000,
          headers: { authorization: `Bearer ${s.token}`, accept: 'application/json', ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}) },
        }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            let json: unknown = text || undefined;
            try {
              json = text ? JSON.parse(text) : undefined;
            } catch {
              // not JSON (e.g. a kubeconfig): hand back the text
            }
            if (status >= 200 && status < 300) return resolve(json as T);
            const err = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
            reject(new CliError(err ? `${err.message} (${err.code}, HTTP ${status})` : `HTTP ${status}: ${text.slice(0, 200)}`));
          });
        });
        req.on('timeout', () => req.destroy(new Error('timed out after 30s')));
        req.on('error', (e) => reject(new CliError(`cannot reach the hub API at ${s.url}: ${e.message}`)));
        req.end(payload);
      });
    },
  };
}
