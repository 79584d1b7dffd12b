// atoll-hub token … (join tokens) and api-token … (dashboard API tokens with a role).
import type { Command } from 'commander';
import { client } from './session.js';
import { CliError, printRows, type Column } from './output.js';
import { API_ROLES } from '../api/roles.js';
import { JOIN_TOKEN_PREFIX, parseJoinToken, JoinTokenFormatError } from '../../certs/join-token.js';

type Obj = Record<string, unknown>;
const s = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
const ID_RE = /^[a-z0-9]{8}$/;

/** A join token's id from its id or from the whole token string (AT1<pin>::<id>.<secret>). */
export function joinTokenId(ref: string): string {
  const t = ref.trim();
  if (ID_RE.test(t)) return t;
  if (t.startsWith(JOIN_TOKEN_PREFIX)) {
    try {
      return parseJoinToken(t).id;
    } catch (err) {
      if (err instanceof JoinTokenFormatError) throw new CliError(`not a join token or token id: ${err.message}`, 2);
      throw err;
    }
  }
  throw new CliError(
    'give a token id (8 letters and digits, as in "atoll-hub token list") or the whole token (AT1…::<id>.<secret>)',
    2,
  );
}

const tokenColumns: Array<Column<Obj>> = [
  { header: 'ID', value: (t) => s(t.id) },
  { header: 'POOL', value: (t) => s(t.pool) },
  { header: 'STATUS', value: (t) => s(t.status) },
  { header: 'USES', value: (t) => `${s(t.uses)}/${t.reusable ? '∞' : s(t.maxUses)}` },
  { header: 'EXPIRES', value: (t) => s(t.expiresAt) },
  { header: 'CREATED', value: (t) => s(t.createdAt), wide: true },
  { header: 'CREATED BY', value: (t) => s(t.createdBy), wide: true },
  { header: 'DESCRIPTION', value: (t) => s(t.description) },
];

export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('join tokens: create, list, revoke');
  token
    .command('create')
    .description('create a join token (printed once)')
    .option('--pool <pool>', 'pool the token joins nodes to', 'default')
    .option('--ttl <duration>', 'lifetime, e.g. 10m, 1h, 7d', '1h')
    .option('--uses <n>', 'number of joins allowed (default 1)')
    .option('--reusable', 'no use limit (until expiry or revoke)')
    .option('--description <text>', 'free text shown in token list')
    .action(
      async (
        o: { pool: string; ttl: string; uses?: string; reusable?: boolean; description?: string },
        cmd: Command,
      ) => {
        const c = client(cmd);
        if (o.uses !== undefined && o.reusable) throw new CliError('give either --uses or --reusable', 2);
        const uses = o.uses === undefined ? undefined : Number(o.uses);
        if (uses !== undefined && (!Number.isInteger(uses) || uses < 1))
          throw new CliError('--uses must be a positive integer', 2);
        const t = await c.api.call<Obj>('POST', '/v1/tokens', {
          pool: o.pool,
          ttl: o.ttl,
          uses,
          reusable: Boolean(o.reusable),
          description: o.description ?? '',
        });
        if (c.structured) return c.print(t);
        process.stdout.write(`${s(t.token)}\n`);
        process.stderr.write(
          `token ${s(t.id)} for pool ${s(t.pool)}, expires ${s(t.expiresAt)}, uses ${t.reusable ? 'unlimited' : s(t.maxUses)}\n`,
        );
      },
    );
  token
    .command('list')
    .description('list the live join tokens (--all: also expired, used-up and revoked ones)')
    .option('--all', 'also list expired, used-up and revoked tokens')
    .action(async (o: { all?: boolean }, cmd: Command) => {
      const c = client(cmd);
      const r = await c.api.call<{ items: Obj[] }>('GET', `/v1/tokens${o.all ? '?all=true' : ''}`);
      if (c.structured) return c.print(r);
      printRows(tokenColumns, r.items, c.format);
    });
  token
    .command('revoke')
    .description('revoke a join token, named by its id or by the whole token string')
    .argument('<token>', 'token id (from token list) or the whole AT1… token')
    .action(async (ref: string, _o, cmd: Command) => {
      const id = joinTokenId(ref);
      const c = client(cmd);
      await c.api.call('DELETE', `/v1/tokens/${encodeURIComponent(id)}`);
      if (c.structured) c.print({ id, revoked: true });
      else process.stdout.write(`token ${id} revoked\n`);
    });

  const apiToken = program.command('api-token').description('dashboard API tokens with a role: create, list, revoke');
  apiToken
    .command('create')
    .description('create an API token (printed once)')
    .requiredOption('--role <role>', `${API_ROLES.join(' | ')}`)
    .option('--description <text>', 'free text shown in api-token list')
    .action(async (o: { role: string; description?: string }, cmd: Command) => {
      if (!(API_ROLES as readonly string[]).includes(o.role))
        throw new CliError(`--role must be one of ${API_ROLES.join(', ')}`, 2);
      const c = client(cmd);
      const t = await c.api.call<Obj>('POST', '/v1/api-tokens', { role: o.role, description: o.description ?? '' });
      if (c.structured) return c.print(t);
      process.stdout.write(`${s(t.token)}\n`);
      process.stderr.write(`API token ${s(t.id)} (${s(t.role)}); it is shown only this once\n`);
    });
  apiToken
    .command('list')
    .description('list API tokens')
    .action(async (_o, cmd: Command) => {
      const c = client(cmd);
      const r = await c.api.call<{ items: Obj[] }>('GET', '/v1/api-tokens');
      if (c.structured) return c.print(r);
      printRows(
        [
          { header: 'ID', value: (t) => s(t.id) },
          { header: 'ROLE', value: (t) => s(t.role) },
          { header: 'STATUS', value: (t) => (t.revokedAt ? 'revoked' : 'active') },
          { header: 'CREATED', value: (t) => s(t.createdAt) },
          { header: 'CREATED BY', value: (t) => s(t.createdBy), wide: true },
          { header: 'DESCRIPTION', value: (t) => s(t.description) },
        ],
        r.items,
        c.format,
      );
    });
  apiToken
    .command('revoke')
    .description('revoke an API token')
    .argument('<id>', 'API token id (from api-token list)')
    .action(async (id: string, _o, cmd: Command) => {
      const c = client(cmd);
      await c.api.call('DELETE', `/v1/api-tokens/${encodeURIComponent(id)}`);
      if (c.structured) c.print({ id, revoked: true });
      else process.stdout.write(`API token ${id} revoked\n`);
    });
}
