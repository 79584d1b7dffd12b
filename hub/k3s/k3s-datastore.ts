// Where the hub's `k3s server` keeps the Kubernetes objects. On SQLite (one hub) k3s keeps its own
// embedded datastore in the data dir. On PostgreSQL (several hubs) every hub's k3s server must share
// one external datastore, or each hub would run a cluster of its own: by default a database of its
// own beside atoll's (`<atoll database>_k3s` on the same server, with the same credentials; kine
// creates it when missing), or what --k3s-datastore-endpoint names. Parsing only; no driver here.
import type { DatastoreSpec } from '../store/datastore-url.js';
import { checkPostgresUrl, redactUrl } from '../store/datastore-url.js';
import { ConfigError } from '../errors.js';

/** The k3s database beside atoll's: same server, user and options, `<database>_k3s`. */
export function besideDatabase(atollUrl: string): string {
  const u = new URL(atollUrl);
  const db = decodeURIComponent(u.pathname.replace(/^\/+/, ''));
  // PostgreSQL names are at most 63 bytes; kine lower-cases the name it is given.
  u.pathname = `/${encodeURIComponent(`${db.slice(0, 59)}_k3s`.toLowerCase())}`;
  return u.toString();
}

/**
 * The value for k3s's --datastore-endpoint (given as K3S_DATASTORE_ENDPOINT, so a password never
 * shows in `ps`), or undefined for k3s's embedded datastore.
 */
export function k3sDatastoreEndpoint(
  store: DatastoreSpec,
  flag: string | undefined,
  k3sArgs: readonly string[],
): string | undefined {
  // An operator who passes --k3s-arg --datastore-endpoint=... has chosen; k3s takes the flag over env.
  if (k3sArgs.some((a) => a === '--datastore-endpoint' || a.startsWith('--datastore-endpoint='))) return undefined;
  const value = (flag ?? '').trim();
  if (value === 'embedded') {
    if (store.kind === 'postgres')
      throw new ConfigError(
        '--k3s-datastore-endpoint embedded: with several hubs on PostgreSQL each hub would run a cluster of its own; name a shared datastore instead',
      );
    return undefined;
  }
  if (value !== '') {
    if (!/^(postgres(ql)?|mysql|https?):\/\//i.test(value))
      throw new ConfigError(
        `--k3s-datastore-endpoint must be a postgres://, mysql:// or etcd https:// URL, or "embedded"; got ${redactUrl(value).slice(0, 80)}`,
      );
    if (/^postgres/i.test(value)) checkPostgresUrl(value);
    return value;
  }
  return store.kind === 'postgres' ? besideDatabase(store.url) : undefined;
}
