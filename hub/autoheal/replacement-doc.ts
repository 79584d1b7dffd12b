// The cloud-init document autoheal hands out to replace a node: a fresh single-use join token for the
// pool (an hour) inside a #cloud-config that installs the agent against this hub. Records token.created.
import type { EventLog } from '../events.js';
import type { TokenService } from '../tokens/token-service.js';
import { renderCloudInit } from '../installer/cloud-init-doc.js';

export interface ReplacementDocDeps {
  tokens: TokenService;
  events: EventLog;
  publicUrl: string;
  caPem: string;
  /** Who asks (the token's creator and the event's actor) and for what; autoheal's replacement by default. */
  actor?: string;
  purpose?: string;
}

export function replacementDocs(d: ReplacementDocDeps): (pool: string) => Promise<{ doc: string; tokenId: string }> {
  return async (pool) => {
    const { record, token } = await d.tokens.create({
      pool,
      ttlMs: 3_600_000,
      maxUses: 1,
      description: d.purpose ?? 'autoheal replacement',
      actor: d.actor ?? 'autoheal',
    });
    await d.events.note({
      type: 'token.created',
      pool,
      actor: d.actor ?? 'autoheal',
      message: `single-use join token ${record.id} for ${d.purpose ?? 'a replacement'} in pool ${pool}`,
      data: { tokenId: record.id },
    });
    return {
      doc: renderCloudInit({
        hubUrl: d.publicUrl,
        caPem: d.caPem,
        token,
        tokenId: record.id,
        pool,
        expiresAt: record.expiresAt,
        labels: {},
      }),
      tokenId: record.id,
    };
  };
}
