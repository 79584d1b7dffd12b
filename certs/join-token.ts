// The join token a user pastes: one string carrying the hub CA pin, a public id and the secret.
//   AT1<64 hex: SHA-256 of the hub's /cacerts PEM>::<id>.<secret>
// Modelled on k3s's K10<ca-hash>::<creds>; the distinct prefix keeps atoll and k3s tokens apart.
// Only characters that need no quoting in a shell or YAML.
import { AtollError } from './atoll-error.js';

export const JOIN_TOKEN_PREFIX = 'AT1';
const TOKEN_RE = /^AT1([0-9a-f]{64})::([a-z0-9]{8})\.([a-z0-9]{32})$/;

export interface JoinToken {
  caPin: string;
  id: string;
  secret: string;
}

export class JoinTokenFormatError extends AtollError<'TOKEN_MALFORMED'> {
  constructor(message: string, options?: ErrorOptions) {
    super('TOKEN_MALFORMED', message, options);
    this.name = 'JoinTokenFormatError';
  }
}

export function formatJoinToken(t: JoinToken): string {
  return `${JOIN_TOKEN_PREFIX}${t.caPin}::${t.id}.${t.secret}`;
}

export function parseJoinToken(text: string): JoinToken {
  const s = text.trim();
  const m = TOKEN_RE.exec(s);
  if (!m) {
    if (!s.startsWith(JOIN_TOKEN_PREFIX))
      throw new JoinTokenFormatError('not an atoll join token (it should start with AT1)');
    const hash = s.slice(3).split('::')[0];
    if (hash.length !== 64)
      throw new JoinTokenFormatError(`invalid token CA hash length (${hash.length}, want 64 hex characters)`);
    throw new JoinTokenFormatError('malformed join token (want AT1<ca-hash>::<id>.<secret>)');
  }
  return { caPin: m[1], id: m[2], secret: m[3] };
}
