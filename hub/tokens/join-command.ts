// The join command for a pool (POST /v1/join-command): a fresh single-use token and the
// install line that carries it with the hub's URL and serving-key pin. Records token.created.
import type { EventLog } from '../events.js';
import type { TokenService } from './token-service.js';
import { installLine } from '../installer/install-line.js';

export interface JoinCommand {
  token: string;
  tokenId: string;
  command: string;
  expiresAt: string;
}

export interface JoinCommandDeps {
  tokens: TokenService;
  events: EventLog;
  publicUrl: string;
  servingPin: string;
}

export function joinCommands({
  tokens,
  events,
  publicUrl,
  servingPin,
}: JoinCommandDeps): (pool: string, actor: string, ttlMs?: number) => Promise<JoinCommand> {
  return async (pool, actor, ttlMs) => {
    const { record, token } = await tokens.create({ pool, ttlMs, maxUses: 1, description: 'join-command', actor });
    await events.record({
      type: 'token.created',
      pool,
      actor,
      message: `single-use join token ${record.id} for pool ${pool}`,
      data: { tokenId: record.id, expiresAt: record.expiresAt },
    });
    return {
      token,
      tokenId: record.id,
      command: installLine(publicUrl, servingPin, token),
      expiresAt: record.expiresAt,
    };
  };
}
