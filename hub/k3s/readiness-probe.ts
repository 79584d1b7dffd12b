// How the supervisor asks a k3s server whether it serves: a bounded HTTPS GET (k3s's /ping with its
// server CA, the kube API's /readyz with the admin kubeconfig's client certificate).
import { readFileSync, existsSync } from 'node:fs';
import { request } from 'node:https';

/** GET over HTTPS with optional client cert; resolves with the status and body (never rejects). */
export function probe(
  url: string,
  tls: { ca?: string; cert?: string; key?: string },
  timeoutMs = 3000,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request(url, { ...tls, rejectUnauthorized: Boolean(tls.ca), timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        if (body.length < 4096) body += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve({ status: 0, body: '' }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: 0, body: e.message }));
    req.end();
  });
}

/** Client TLS material from a kubeconfig written by k3s (inline base64 data fields). */
export function kubeconfigTls(path: string): { ca?: string; cert?: string; key?: string } {
  if (!existsSync(path)) return {};
  const text = readFileSync(path, 'utf8');
  const field = (name: string): string | undefined => {
    const m = new RegExp(`${name}:\\s*([A-Za-z0-9+/=]+)`).exec(text);
    return m ? Buffer.from(m[1], 'base64').toString('utf8') : undefined;
  };
  return {
    ca: field('certificate-authority-data'),
    cert: field('client-certificate-data'),
    key: field('client-key-data'),
  };
}
