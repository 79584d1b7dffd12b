// Dashboard API tokens with a role (read-only, operator), next to the admin token. Stored hashed in
// the store's api_tokens table (one row each) and cached in memory: auth runs on every request.
// The token string is `atoll_api_<id>_<secret>`; only the SHA-256 of the secret is kept.
import type { RoutePlugin } from '../http/route-plugin.js';
import type { Store } from '../store/types.js';
import type { StoreChanges } from '../store/cluster-types.js';
import { pacedLoop } from '../cluster/paced-loop.js';
import type { HubServices } from './services.js';
import { HubError } from '../errors.js';
import { randomId, randomString, secretMatches, sha256Hex } from '../tokens/secrets.js';
import { API_ROLES, permissionsOf, type ApiRole } from './roles.js';
import { actorOf } from './actor.js';
import { noContent, params, responses } from './schemas.js';

const TOKEN_RE = /^atoll_api_([0-9a-f]{12})_([a-z0-9]{40})$/;

export interface ApiTokenRecord {
  id: string;
  role: ApiRole;
  description: string;
  secretHash: string;
  createdAt: string;
  createdBy: string;
  revokedAt: string | null;
}

export type PublicApiToken = Omit<ApiTokenRecord, 'secretHash'> & { permissions: string[] };

export function publicApiToken(t: ApiTokenRecord): PublicApiToken {
  const { secretHash: _hash, ...rest } = t;
  return { ...rest, permissions: permissionsOf(t.role) };
}

export class ApiTokens {
  private items: ApiTokenRecord[] = [];
  /** Moves on with every change made here, so a reload read before it does not undo it. */
  private changes = 0;
  constructor(private readonly store: Store) {}

  async load(): Promise<void> {
    const at = this.changes;
    const items = (await this.store.listApiTokens()) as ApiTokenRecord[];
    if (at === this.changes) this.items = items;
  }

  /**
   * Several hubs on one store: reloads when another hub's token change is heard of
   * (store/pg-changes.ts), and every slowMs anyway (fastMs while no notifications flow), so a token
   * made or revoked through another hub counts here within about half a second at worst. Returns the stop.
   */
  follow(changes: StoreChanges, onError: (err: Error) => void, fastMs = 500, slowMs = 5000): () => void {
    const loop = pacedLoop({ run: () => this.load(), onError, fastMs, slowMs, changes, topics: ['api_tokens'] });
    return () => loop.stop();
  }

  list(): ApiTokenRecord[] {
    return [...this.items];
  }

  /** The live token a presented string belongs to, or undefined. Compares the hash in constant time. */
  verify(presented: string): ApiTokenRecord | undefined {
    const m = TOKEN_RE.exec(presented);
    if (!m) return undefined;
    const t = this.items.find((x) => x.id === m[1]);
    if (!t || t.revokedAt || !secretMatches(m[2], t.secretHash)) return undefined;
    return t;
  }

  async create(role: ApiRole, description: string, actor: string): Promise<{ record: ApiTokenRecord; token: string }> {
    const id = randomId(6);
    const secret = randomString(40);
    const record: ApiTokenRecord = {
      id,
      role,
      description,
      secretHash: sha256Hex(secret),
      createdAt: new Date().toISOString(),
      createdBy: actor,
      revokedAt: null,
    };
    await this.store.createApiToken(record);
    this.changes++;
    this.items = [...this.items, record];
    return { record, token: `atoll_api_${id}_${secret}` };
  }

  /** false when absent. Revoking twice keeps the first time. */
  async revoke(id: string): Promise<ApiTokenRecord | undefined> {
    const t = this.items.find((x) => x.id === id);
    if (!t) return undefined;
    if (t.revokedAt) return t;
    // One statement: the first revocation time stays; the cache takes what the store holds.
    const revoked = (await this.store.revokeApiToken(id, new Date().toISOString())) as ApiTokenRecord | undefined;
    if (!revoked) return undefined;
    this.changes++;
    this.items = this.items.map((x) => (x.id === id ? revoked : x));
    return revoked;
  }
}

const tokenSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    role: { type: 'string', enum: [...API_ROLES] },
    description: { type: 'string' },
    createdAt: { type: 'string' },
    createdBy: { type: 'string' },
    revokedAt: { type: ['string', 'null'] },
    permissions: { type: 'array', items: { type: 'string' } },
  },
} as const;

export const apiTokenRoutes: RoutePlugin<{ svc: HubServices; apiTokens: ApiTokens }> = async (
  app,
  { svc, apiTokens },
) => {
  app.get(
    '/v1/whoami',
    {
      schema: {
        summary: 'The caller: token id, role and permissions',
        response: responses({
          200: {
            type: 'object',
            properties: {
              id: { type: 'string' },
              role: { type: 'string' },
              permissions: { type: 'array', items: { type: 'string' } },
            },
          },
        }),
      },
    },
    async (req) => ({
      id: req.actor?.id ?? 'anonymous',
      role: req.actor?.role ?? 'read-only',
      permissions: permissionsOf(req.actor?.role ?? 'read-only'),
    }),
  );

  app.get(
    '/v1/api-tokens',
    {
      schema: {
        summary: 'List API tokens (never their secrets)',
        response: responses({ 200: { type: 'object', properties: { items: { type: 'array', items: tokenSchema } } } }),
      },
    },
    async () => ({ items: apiTokens.list().map(publicApiToken) }),
  );

  app.post(
    '/v1/api-tokens',
    {
      schema: {
        summary: 'Create an API token with a role; the token string is returned once',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['role'],
          properties: {
            role: { type: 'string', enum: [...API_ROLES] },
            description: { type: 'string', maxLength: 500, default: '' },
          },
        },
        response: responses({
          201: { type: 'object', properties: { ...tokenSchema.properties, token: { type: 'string' } } },
        }),
      },
    },
    async (req, reply) => {
      const body = req.body;
      const actor = actorOf(req);
      const { record, token } = await apiTokens.create(body.role, body.description, actor);
      await svc.events.record({
        type: 'api-token.created',
        actor,
        message: `API token ${record.id} (${record.role}) created`,
        data: { apiTokenId: record.id, role: record.role },
      });
      reply.status(201);
      return { ...publicApiToken(record), token };
    },
  );

  app.delete(
    '/v1/api-tokens/:id',
    { schema: { summary: 'Revoke an API token', params: params('id'), response: responses({ 204: noContent }) } },
    async (req, reply) => {
      const { id } = req.params;
      const t = await apiTokens.revoke(id);
      if (!t) throw new HubError('NOT_FOUND', `API token ${id} does not exist`);
      await svc.events.record({
        type: 'api-token.revoked',
        actor: actorOf(req),
        message: `API token ${id} revoked`,
        data: { apiTokenId: id, role: t.role },
      });
      reply.status(204);
    },
  );
};
