// `atoll-agent join`: enroll with the token, unless this server already has an identity that the
// token's hub still accepts (then the token is not used). An identity the hub refuses (the node was
// removed, its certificate revoked or unknown) or one from another hub (another CA) is replaced:
// the k3s it ran is stopped first, and the new identity takes its place only once the hub has
// signed it, so a refused join (expired token ...) leaves the old one as it was.
import { parseJoinToken, JoinTokenFormatError } from '../certs/join-token.js';
import { enroll } from './enroll.js';
import { hasIdentity, loadIdentity, type Identity } from './identity.js';
import { checkIdentity } from './identity-check.js';
import { clearRemoved, dropK3sAssignment, readRemoved } from './removal.js';
import { stopLeftoverK3s } from './k3s/stop-leftover.js';
import { AgentError } from './errors.js';
import type { AgentConfig } from './config.js';
import type { Logger } from './logger.js';

export interface JoinOutcome {
  identity: Identity;
  /** false: the identity on disk was kept and the token not used. */
  joined: boolean;
}

function tokenPin(token: string): string {
  try {
    return parseJoinToken(token).caPin;
  } catch (err) {
    if (err instanceof JoinTokenFormatError)
      throw new AgentError('TOKEN_MALFORMED', `the join token is not valid: ${err.message}`);
    throw err;
  }
}

export async function joinOrKeep(
  config: AgentConfig,
  logger: Logger,
  agentVersion: string,
  say: (line: string) => void,
  opts: { force?: boolean; keepOnly?: Error } = {},
): Promise<JoinOutcome> {
  const dir = config.dataDir;
  const existing = hasIdentity(dir) ? loadIdentity(dir) : undefined;
  const was = existing && `${existing.nodeName} (${existing.nodeId})`;
  if (existing && opts.force) {
    say(`this server was joined as ${was} to ${existing.hubUrl}: joining again with the new token (--force)`);
  } else if (existing) {
    if (!config.token) {
      say(`already joined as ${was} to ${existing.hubUrl}`);
      return { identity: existing, joined: false };
    }
    const hubUrl = config.hubUrl ?? existing.hubUrl;
    const verdict = await checkIdentity(existing, hubUrl, tokenPin(config.token));
    if (verdict.kind === 'current') {
      say(`already joined as ${was} to ${existing.hubUrl}; the token was not used`);
      return { identity: existing, joined: false };
    }
    if (verdict.kind === 'unknown') {
      say(
        `already joined as ${was} to ${existing.hubUrl}; the hub could not say whether it still knows this node (${verdict.why}): keeping it, the token was not used`,
      );
      return { identity: existing, joined: false };
    }
    say(
      verdict.kind === 'rejected'
        ? `the hub at ${hubUrl} no longer accepts this node, ${was} (${verdict.why}): joining again with the new token`
        : `this server was joined to another hub as ${was}: ${verdict.why}; joining ${hubUrl} with the new token`,
    );
  } else {
    const removed = readRemoved(dir);
    if (removed && config.token)
      say(
        `this node, ${removed.nodeName} (${removed.nodeId}), was removed from ${removed.hubUrl} at ${removed.removedAt}: joining again with the new token`,
      );
  }
  // Only keeping was allowed (another agent runs on this data dir): the identity is not replaced.
  if (opts.keepOnly) throw opts.keepOnly;
  if (!config.hubUrl) throw new AgentError('USAGE', 'join needs --hub URL (or ATOLL_HUB_URL)');
  if (!config.token) throw new AgentError('USAGE', 'join needs --token TOKEN, --token-file FILE or env ATOLL_TOKEN');
  if (existing) {
    const stopped = await stopLeftoverK3s(dir);
    if (stopped.length) say(`stopped the k3s agent of the old identity (${stopped.join(', ')})`);
  }
  const identity = await enroll({
    hubUrl: config.hubUrl,
    token: config.token,
    dataDir: dir,
    pool: config.pool,
    nodeName: config.nodeName,
    labels: { ...config.labels },
    k3s: config.k3s ?? 'auto',
    agentVersion,
    logger,
  });
  // Nothing of the old node's k3s may resume for the new one: its token and assignment go.
  if (existing) dropK3sAssignment(dir);
  clearRemoved(dir);
  say(`joined as ${identity.nodeName} (${identity.nodeId}) in pool ${identity.pool}`);
  return { identity, joined: true };
}
