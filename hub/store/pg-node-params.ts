// The PostgreSQL store's row parameters: a row (rows.ts) as the positional values of its INSERT
// (pg-node-sql.ts), in the order of the table's columns there.
import { type Exec } from './pg-db.js';
import { NQ } from './pg-node-sql.js';
import { certToRow, type CertRow, type NodeRow, type PoolRow, type TokenRow } from './rows.js';
import type { CertRecord } from './types.js';

export const poolParams = (r: PoolRow) => [
  r.name,
  r.description,
  r.labels,
  r.taints,
  r.max_node_age,
  r.min_size,
  r.max_size,
  r.autoscale,
  r.created_at,
  r.updated_at,
];
export const tokenParams = (r: TokenRow) => [
  r.id,
  r.secret_hash,
  r.pool,
  r.description,
  r.created_at,
  r.expires_at,
  r.max_uses,
  r.uses,
  r.revoked_at,
  r.created_by,
];
export const nodeParams = (r: NodeRow) => [
  r.id,
  r.name,
  r.pool,
  r.state,
  r.labels,
  r.facts,
  r.agent_version,
  r.token_id,
  r.created_at,
  r.last_seen,
  r.health,
];
export const certParams = (r: CertRow) => [
  r.serial,
  r.node_id,
  r.not_before,
  r.not_after,
  r.fingerprint,
  r.revoked_at,
  r.issued_at,
  r.used_at,
  r.public_key_sha256,
  r.cert_pem,
];
export const insertCert = (ex: Exec, c: CertRecord) => ex.count(NQ.insertCert, certParams(certToRow(c)));

/** The batch as one statement's arrays: one entry per node (last lastSeen, last non-null health). */
