// Spellings of a request path an attacker uses to slip past a check on the raw path, and a raw
// HTTPS request that sends such a target as it is (no normalising client in between).
import { request, type Agent } from 'node:https';

export interface Res {
  status: number;
  body: string;
}

export function send(base: string, agent: Agent, method: string, target: string, token?: string): Promise<Res> {
  const u = new URL(base);
  const bodyless = method === 'GET' || method === 'HEAD' || method === 'OPTIONS' || method === 'DELETE';
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        method,
        path: target,
        agent,
        rejectUnauthorized: false,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(bodyless ? {} : { 'content-type': 'application/json', 'content-length': '2' }),
        },
      },
      (res) => {
        if (String(res.headers['content-type']).startsWith('text/event-stream')) {
          // An endless stream: the status is the answer.
          res.destroy();
          resolve({ status: res.statusCode ?? 0, body: '' });
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${target}: no answer in 10 s`)));
    req.on('error', reject);
    if (bodyless) req.end();
    else req.end('{}');
  });
}

export function escapeLetters(path: string, upper: boolean): string {
  return path.replace(/[a-z]/g, (c) => {
    const e = `%${c.charCodeAt(0).toString(16)}`;
    return upper ? e.toUpperCase() : e;
  });
}

/** Attack spellings of one concrete path (which starts with /v1/). */
export function spellings(path: string): Array<{ name: string; target: string }> {
  const rest = path.slice('/v1/'.length);
  const out = [
    { name: 'canonical', target: path },
    { name: 'escaped v', target: `/%761/${rest}` },
    { name: 'escaped V (upper-case hex)', target: `/%76%31/${rest}` },
    { name: 'all letters escaped', target: escapeLetters(path, false) },
    { name: 'all letters escaped, upper-case hex', target: escapeLetters(path, true) },
    { name: 'escaped slash', target: `/v1%2F${rest}` },
    { name: 'escaped slash, lower case', target: `/v1%2f${rest}` },
    { name: 'double slash', target: `/${path}` },
    { name: 'double slash inside', target: `/v1//${rest}` },
    { name: 'dot segment', target: `/v1/./${rest}` },
    { name: 'dot-dot segment', target: `/v1/../v1/${rest}` },
    { name: 'escaped dot-dot', target: `/v1/%2e%2e/v1/${rest}` },
    { name: 'absolute form', target: `http://x${path}` },
    { name: 'absolute form, https', target: `https://x${path}` },
    { name: 'trailing slash', target: `${path}/` },
    { name: 'upper-case path', target: path.toUpperCase() },
    { name: 'query and fragment tricks', target: `${path}?/v1/healthz` },
  ];
  return out;
}

export function fill(url: string): string {
  return url
    .replace(/\{pool\}/g, 'default')
    .replace(/\{action\}/g, 'cordon')
    .replace(/\{([^}]+)\}/g, 'zz-nope');
}
