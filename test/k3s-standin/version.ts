// Build identity of the stand-in: the k3s version it claims is baked in by scripts/build-standin.mjs
// (esbuild `define`); under tsx it comes from ATOLL_STANDIN_VERSION or the default.
import { createHash } from 'node:crypto';

declare const __K3S_STANDIN_VERSION__: string | undefined;
declare const __K3S_STANDIN_BROKEN__: boolean | undefined;

export const DEFAULT_K3S_VERSION = 'v1.31.4+k3s1';
export const GO_VERSION = 'go1.22.9';
export const CONTAINERD_VERSION = 'containerd://1.7.23-k3s2';

export interface BuildInfo {
  readonly version: string;
  /** Eight hex digits, like the short git commit k3s prints. */
  readonly commit: string;
  readonly goVersion: string;
  readonly major: string;
  readonly minor: string;
  /** A --broken build refuses to run `server` and `agent` (for failed-upgrade tests). */
  readonly broken: boolean;
}

export function buildInfo(env: NodeJS.ProcessEnv = process.env): BuildInfo {
  const version =
    typeof __K3S_STANDIN_VERSION__ === 'string'
      ? __K3S_STANDIN_VERSION__
      : (env.ATOLL_STANDIN_VERSION ?? DEFAULT_K3S_VERSION);
  const broken = typeof __K3S_STANDIN_BROKEN__ === 'boolean' ? __K3S_STANDIN_BROKEN__ : false;
  const m = /^v(\d+)\.(\d+)\./.exec(version);
  return Object.freeze({
    version,
    commit: createHash('sha256').update(version).digest('hex').slice(0, 8),
    goVersion: GO_VERSION,
    major: m?.[1] ?? '1',
    minor: m?.[2] ?? '0',
    broken,
  });
}
