// A minimal Kubernetes REST client over client-certificate TLS (what the stand-in's kubelet and
// `k3s token` use). Non-2xx answers become KubeStatusError with the Status message. With a server
// selector (the agent's load balancer) each request goes to the server it picks.
import { httpsRequest, type HttpsResult } from './https-client.js';
import type { ServerSelector } from './server-selector.js';

export interface KubeEndpoint {
  readonly server: string;
  readonly ca: string | Buffer;
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  readonly servers?: ServerSelector;
}

export class KubeStatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** The parsed body of a 2xx answer; else KubeStatusError with the Status message. */
function answer(res: HttpsResult): unknown {
  let parsed: unknown;
  try {
    parsed = res.body.length ? JSON.parse(res.body.toString('utf8')) : undefined;
  } catch {
    parsed = undefined;
  }
  if (res.status >= 200 && res.status < 300) return parsed;
  const st = parsed as { kind?: string; message?: string; reason?: string } | undefined;
  if (st?.kind === 'Status') throw new KubeStatusError(res.status, st.reason ?? '', st.message ?? res.statusLine);
  throw new KubeStatusError(
    res.status,
    '',
    `the server responded with the status code ${res.status} but did not return more information`,
  );
}

export class KubeClient {
  constructor(private readonly ep: KubeEndpoint) {}

  async request(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
    signal?: AbortSignal,
  ): Promise<unknown> {
    const attempt = async (base: string): Promise<unknown> =>
      answer(
        await httpsRequest(`${base.replace(/\/+$/, '')}${path}`, {
          method,
          ca: this.ep.ca,
          cert: this.ep.cert,
          key: this.ep.key,
          headers: { Accept: 'application/json', ...(body !== undefined ? { 'Content-Type': contentType } : {}) },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
          ...(signal ? { signal } : {}),
        }),
      );
    return this.ep.servers ? this.ep.servers.run(attempt) : attempt(this.ep.server);
  }
}
