// --datastore-endpoint for PostgreSQL (kine's pgsql driver): postgres:// or postgresql://, the
// database `kubernetes` when the URL names none (lower-cased, as kine does), user and password from
// the URL, TLS per `sslmode` (pgx: prefer by default, so a plain-text server is still reached).
import { readFileSync } from 'node:fs';

export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';

export interface PgTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  readonly sslmode: SslMode;
  /** PEM bundle from `sslrootcert` (or --datastore-cafile) for verify-ca / verify-full. */
  readonly ca?: string;
  /** The endpoint with its password masked, for logs. */
  readonly display: string;
}

const MODES: readonly SslMode[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

export class DatastoreEndpointError extends Error {
  readonly code = 'DATASTORE_ENDPOINT';
}

export function isPostgresEndpoint(endpoint: string): boolean {
  return /^postgres(ql)?:\/\//.test(endpoint);
}

export function parseDatastoreEndpoint(endpoint: string, caFile = ''): PgTarget {
  if (!isPostgresEndpoint(endpoint)) {
    const scheme = /^([a-z0-9+.-]+):\/\//i.exec(endpoint)?.[1] ?? endpoint.split(':')[0] ?? '';
    throw new DatastoreEndpointError(
      `the k3s stand-in implements only PostgreSQL datastore endpoints (postgres://), not ${scheme || endpoint}`,
    );
  }
  let u: URL;
  try {
    u = new URL(endpoint.replace(/^postgres(ql)?:/, 'http:'));
  } catch {
    throw new DatastoreEndpointError(
      `invalid datastore endpoint: cannot parse ${endpoint.replace(/:[^:@/]*@/, ':***@')}`,
    );
  }
  const sslmode = (u.searchParams.get('sslmode') ?? (caFile ? 'verify-full' : 'prefer')) as SslMode;
  if (!MODES.includes(sslmode)) throw new DatastoreEndpointError(`sslmode is invalid: ${sslmode}`);
  const rootCert = u.searchParams.get('sslrootcert') ?? caFile;
  const database = decodeURIComponent(u.pathname.replace(/^\/+/, '')).toLowerCase() || 'kubernetes';
  const user = decodeURIComponent(u.username) || 'postgres';
  const display = `postgres://${user}${u.password ? ':***' : ''}@${u.host || 'localhost'}/${database}`;
  return Object.freeze({
    host: u.hostname.replace(/^\[|\]$/g, '') || 'localhost',
    port: u.port ? Number(u.port) : 5432,
    user,
    password: u.password ? decodeURIComponent(u.password) : u.username ? '' : 'postgres',
    database,
    sslmode,
    ...(rootCert ? { ca: readFileSync(rootCert, 'utf8') } : {}),
    display,
  });
}
