// Which server a client request goes to (the agent's client-side load balancer implements this).
import { GoHttpError } from './https-client.js';

export interface ServerSelector {
  /** Runs `fn` against a server's base URL, moving on to the next server while one cannot be reached. */
  run<T>(fn: (baseUrl: string) => Promise<T>): Promise<T>;
}

/** True for failures to reach a server at all (refused, reset, timed out, TLS), not for its answers. */
export function isUnreachable(e: unknown): boolean {
  const err = e instanceof GoHttpError ? e : (e as { cause?: unknown } | undefined)?.cause;
  return err instanceof GoHttpError && !/context canceled/.test(err.message);
}
