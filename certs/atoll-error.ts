// The one base class of every error atoll throws: a stable, UPPER_SNAKE `code` (docs, tests, the HTTP
// mapping, exit codes and log lines refer to it; never rename one), `name` the subclass name, and an
// optional ES2022 `cause`. Each side keeps its own subclasses and codes (hub/errors.ts, agent/errors.ts,
// certs/errors.ts, proto/codec.ts); a module with no family of its own throws an AtollError directly.
//
// It lives in certs/ because certs/ is the shared layer with no internal imports: hub, agent and proto
// may all import certs, while certs imports only node-forge and node: modules, and this file imports
// nothing at all. (In proto/ it would make certs depend on the wire protocol.) Keep it that way.

export class AtollError<C extends string = string> extends Error {
  readonly code: C;

  constructor(code: C, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    // Subclasses set their name again by hand: a bundler may rename a class (esbuild does on clashes).
    this.name = new.target.name;
  }
}

/** The stable code of an atoll error, or undefined for anything else (a node: error's code is not ours). */
export function errorCode(err: unknown): string | undefined {
  return err instanceof AtollError ? err.code : undefined;
}
