import { readFileSync } from 'node:fs';

declare const __ATOLL_AGENT_VERSION__: string | undefined;

/** Baked in by the bundler; read from package.json when running from the repo. */
export function readAgentVersion(): string {
  if (typeof __ATOLL_AGENT_VERSION__ === 'string') return __ATOLL_AGENT_VERSION__;
  for (const rel of ['../../package.json', '../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'atoll' && pkg.version) return pkg.version;
    } catch {
      // try the next location
    }
  }
  return '0.0.0';
}
