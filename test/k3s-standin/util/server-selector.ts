// Which server a client request goes to (the agent's client-side load balancer implements this).
import { GoHttpError } from './https-client.js';

export interface ServerSelector {
  /** Runs `fn` against a server's base URL, moving on to the next server while one cannot be reached. */
  run<T>(fn: (baseUrl: string) => Promise<T>): Promise<T>;
}

/**
 * True when a server cannot serve at all: not reached (refused, reset, timed out, TLS), or answering
 * 503 because its datastore is out of reach (what k3s's load balancer health checks catch).
 */
export function isUnreachable(e: unknown): boolean {
  if (e instanceof Error && (e as { code?: unknown }).code === 503) return true;
  const err = e instanceof GoHttpError ? e : (e as { cause?: unknown } | undefined)?.cause;
  return err instanceof GoHttpError && !/context canceled/.test(err.message);
}
