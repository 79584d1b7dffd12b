// atoll-hub admin-token rotate: a new admin token through the hub's API (POST /v1/admin-token/rotate).
// The token itself is never printed: it is in the hub's <data-dir>/admin-token (each hub's, on a cluster).
import type { Command } from 'commander';
import { client } from './session.js';

interface Rotation {
  path: string;
  rotatedAt: string;
  scope: 'hub' | 'cluster';
}

export function registerAdminTokenCommands(program: Command): void {
  const adminToken = program.command('admin-token').description('the admin token: rotate');
  adminToken
    .command('rotate')
    .description(
      "replace the admin token with a new random one: the old one stops working at once (on every hub of a cluster within seconds); the new one is in the hub's <data-dir>/admin-token",
    )
    .action(async (_o, cmd: Command) => {
      const c = client(cmd);
      const r = await c.api.call<Rotation>('POST', '/v1/admin-token/rotate');
      if (c.structured) return c.print(r);
      const cluster = r.scope === 'cluster';
      process.stdout.write(
        `admin token rotated: the old one no longer works${cluster ? ' (on every hub of the cluster within seconds)' : ''}\n` +
          `the new one is in ${r.path}${cluster ? " on that hub, and in each hub's own <data-dir>/admin-token" : ''}\n`,
      );
      // A token given from elsewhere than that file is the old one now.
      const stale = process.env.ATOLL_ADMIN_TOKEN
        ? 'ATOLL_ADMIN_TOKEN'
        : c.settings.source.startsWith('context ')
          ? c.settings.source
          : undefined;
      if (stale) process.stderr.write(`${stale} holds the old token: give it the new one\n`);
    });
}
