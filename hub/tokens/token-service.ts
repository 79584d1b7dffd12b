// Join tokens: created shown-once, stored hashed, checked in constant time, scoped to a pool,
// expiring, use-limited and revocable.
import type { Store, TokenRecord } from '../store/types.js';
import { HubError } from '../errors.js';
import { formatJoinToken, parseJoinToken, JoinTokenFormatError } from '../../certs/join-token.js';
import { randomString, secretMatches, sha256Hex } from './secrets.js';

export const DEFAULT_TOKEN_TTL_MS = 3_600_000;
export const MAX_TOKEN_TTL_MS = 90 * 86_400_000;

export interface CreateTokenInput {
  pool: string;
  ttlMs?: number;
  /** null: reusable. Default 1. */
  maxUses?: number | null;
  description?: string;
  actor: string;
}

export interface TokenService {
  create(input: CreateTokenInput): Promise<{ record: TokenRecord; token: string }>;
  /** Checks a presented token; throws HubError TOKEN_* naming what is wrong. Does not consume it. */
  check(presented: string, now: Date): Promise<TokenRecord>;
}

export function createTokenService(deps: { store: Store; caPin: string; now?: () => Date }): TokenService {
  const now = deps.now ?? (() => new Date());
  return {
    async create(input) {
      const pool = await deps.store.getPool(input.pool);
      if (!pool) throw new HubError('NOT_FOUND', `pool "${input.pool}" does not exist`);
      const ttlMs = input.ttlMs ?? DEFAULT_TOKEN_TTL_MS;
      if (ttlMs <= 0 || ttlMs > MAX_TOKEN_TTL_MS)
        throw new HubError('VALIDATION', 'token ttl must be between 1s and 90d');
      const maxUses = input.maxUses === undefined ? 1 : input.maxUses;
      if (maxUses !== null && (!Number.isInteger(maxUses) || maxUses < 1))
        throw new HubError('VALIDATION', 'uses must be a positive integer');
      const id = randomString(8);
      const secret = randomString(32);
      const created = now();
      const record: TokenRecord = {
        id,
        secretHash: sha256Hex(secret),
        pool: pool.name,
        description: input.description ?? '',
        createdAt: created.toISOString(),
        expiresAt: new Date(created.getTime() + ttlMs).toISOString(),
        maxUses,
        uses: 0,
        revokedAt: null,
        createdBy: input.actor,
      };
      await deps.store.createToken(record);
      return { record, token: formatJoinToken({ caPin: deps.caPin, id, secret }) };
    },

    async check(presented, at) {
      let parsed;
      try {
        parsed = parseJoinToken(presented);
      } catch (err) {
        if (err instanceof JoinTokenFormatError) throw new HubError('TOKEN_INVALID', `invalid token: ${err.message}`);
        throw err;
      }
      if (parsed.caPin !== deps.caPin)
        throw new HubError('TOKEN_INVALID', 'invalid token: it was issued by a different hub (CA pin differs)');
      const record = await deps.store.getToken(parsed.id);
      // Same wording for an unknown id and a wrong secret: do not reveal which ids exist.
      if (!record || !secretMatches(parsed.secret, record.secretHash))
        throw new HubError('TOKEN_INVALID', 'invalid token: unknown token or wrong secret');
      if (record.revokedAt)
        throw new HubError('TOKEN_REVOKED', `token ${record.id} was revoked at ${record.revokedAt}`);
      if (Date.parse(record.expiresAt) <= at.getTime())
        throw new HubError('TOKEN_EXPIRED', `token ${record.id} expired at ${record.expiresAt}`);
      if (record.maxUses !== null && record.uses >= record.maxUses)
        throw new HubError('TOKEN_USED_UP', `token ${record.id} is used up (${record.uses} of ${record.maxUses} uses)`);
      return record;
    },
  };
}

export function publicToken(t: TokenRecord, now: Date): Record<string, unknown> {
  const expired = Date.parse(t.expiresAt) <= now.getTime();
  const usedUp = t.maxUses !== null && t.uses >= t.maxUses;
  return {
    id: t.id,
    pool: t.pool,
    description: t.description,
    createdAt: t.createdAt,
    expiresAt: t.expiresAt,
    maxUses: t.maxUses,
    reusable: t.maxUses === null,
    uses: t.uses,
    revokedAt: t.revokedAt,
    createdBy: t.createdBy,
    status: t.revokedAt ? 'revoked' : expired ? 'expired' : usedUp ? 'used-up' : 'active',
  };
}
