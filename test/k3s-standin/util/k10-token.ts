// k3s join tokens (pkg/clientaccess/token.go): K10<sha256 of CA>::<user>:<password> or ::<id>.<secret>.
import { createHash, X509Certificate } from 'node:crypto';

export const TOKEN_PREFIX = 'K10';
const CA_HASH_LENGTH = 64;
export const BOOTSTRAP_TOKEN_RE = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
export const BOOTSTRAP_TOKEN_PATTERN = '\\A([a-z0-9]{6})\\.([a-z0-9]{16})\\z';
export const BOOTSTRAP_TOKEN_ID_PATTERN = '\\A([a-z0-9]{6})\\z';

export interface ParsedToken {
  /** Empty when the token carries no CA hash (short form). */
  readonly caHash: string;
  readonly username?: string;
  readonly password?: string;
  readonly bootstrap?: { readonly id: string; readonly secret: string };
}

/** Mirrors parseToken: the error strings are k3s's own. */
export function parseToken(input: string): ParsedToken {
  if (input.length === 0) throw new Error('token must not be empty');
  let token = input;
  if (!token.startsWith(TOKEN_PREFIX)) {
    token = BOOTSTRAP_TOKEN_RE.test(token) ? `${TOKEN_PREFIX}::${token}` : `${TOKEN_PREFIX}:::${token}`;
  }
  token = token.slice(TOKEN_PREFIX.length);
  let caHash = '';
  const sep = token.indexOf('::');
  if (sep >= 0) {
    caHash = token.slice(0, sep);
    if (caHash.length > 0 && caHash.length !== CA_HASH_LENGTH) throw new Error('invalid token CA hash length');
    token = token.slice(sep + 2);
  }
  const bts = BOOTSTRAP_TOKEN_RE.exec(token);
  if (bts) return { caHash, bootstrap: { id: bts[1] as string, secret: bts[2] as string } };
  const c = token.indexOf(':');
  if (c < 0 || c === token.length - 1) throw new Error('invalid token format');
  return { caHash, username: token.slice(0, c), password: token.slice(c + 1) };
}

function pemBlocks(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/** hashCA: SHA-256 of the bundle bytes for a single cert; of the root's DER for a chain. */
export function hashCA(bundle: Buffer | string): string {
  const bytes = typeof bundle === 'string' ? Buffer.from(bundle) : bundle;
  const blocks = pemBlocks(bytes.toString('utf8'));
  if (blocks.length > 1) {
    const certs = blocks.map((b) => new X509Certificate(b));
    const root = certs.find((c) => c.subject === c.issuer) ?? certs[certs.length - 1];
    if (root) return createHash('sha256').update(root.raw).digest('hex');
  }
  return createHash('sha256').update(bytes).digest('hex');
}

export function formatToken(creds: string, caBundle: Buffer | string): string {
  return `${TOKEN_PREFIX}${hashCA(caBundle)}::${creds}`;
}

/** Credentials part for the Authorization header. */
export function authHeader(t: ParsedToken, usernameOverride?: string): string {
  if (t.bootstrap) return `Bearer ${t.bootstrap.id}.${t.bootstrap.secret}`;
  const user = usernameOverride ?? t.username ?? '';
  return `Basic ${Buffer.from(`${user}:${t.password ?? ''}`).toString('base64')}`;
}
