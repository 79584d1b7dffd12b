// Node certificate bookkeeping of the SQLite store: issuing a renewal atomically with the check that
// the node still exists, stamping first use (and revoking what the used certificate replaces), and
// the current certificate of every node in one query.
import type Database from 'better-sqlite3';
import { certToRow, nodeCertFromRow, tokenCheck, type CertRow } from './rows.js';
import type { Statements } from './sqlite-statements.js';
import { PRUNE_EXPIRED_AFTER_MS } from './store-rules.js';
import type { CurrentCert, EnrollOutcome, IssueCertOutcome, NodeCertRecord, RejoinInput } from './types.js';

export function prepareCertStatements(db: Database.Database) {
  return {
    listNodeCerts: db.prepare<[string], CertRow>(
      'SELECT * FROM certs WHERE node_id = ? ORDER BY COALESCE(issued_at, not_before), serial',
    ),
    revokeOne: db.prepare<[string, string, string]>(
      'UPDATE certs SET revoked_at = ? WHERE serial = ? AND node_id = ? AND revoked_at IS NULL',
    ),
    markUsed: db.prepare<[string, string]>('UPDATE certs SET used_at = COALESCE(used_at, ?) WHERE serial = ?'),
    olderLive: db.prepare<[string, string, string], { serial: string }>(`SELECT serial FROM certs WHERE node_id = ?
      AND revoked_at IS NULL AND serial != ? AND COALESCE(issued_at, not_before) < ?`),
    pruneExpired: db.prepare<[string, string]>('DELETE FROM certs WHERE node_id = ? AND not_after < ?'),
    current: db.prepare<[], CurrentCert>(`SELECT nodeId, serial, notAfter, issuedAt FROM (
      SELECT node_id AS nodeId, serial, not_after AS notAfter, COALESCE(issued_at, not_before) AS issuedAt,
        ROW_NUMBER() OVER (PARTITION BY node_id ORDER BY (used_at IS NULL), not_after DESC) AS rn
      FROM certs WHERE revoked_at IS NULL) WHERE rn = 1`),
  };
}

type CertStatements = ReturnType<typeof prepareCertStatements>;

export function listNodeCerts(cs: CertStatements, nodeId: string): NodeCertRecord[] {
  return cs.listNodeCerts.all(nodeId).map(nodeCertFromRow);
}

export function issueNodeCert(
  st: Statements,
  cs: CertStatements,
  cert: NodeCertRecord,
  now: string,
  revokeSerials: readonly string[],
): IssueCertOutcome {
  if (!st.getNode.get(cert.nodeId)) {
    // Removed while this was being signed: keep the serial, revoked, so it can never be used.
    st.insertCert.run(certToRow({ ...cert, revokedAt: now }));
    return 'node-missing';
  }
  for (const serial of revokeSerials) cs.revokeOne.run(now, serial, cert.nodeId);
  const pruneBefore = new Date(Date.parse(now) - PRUNE_EXPIRED_AFTER_MS).toISOString();
  cs.pruneExpired.run(cert.nodeId, pruneBefore);
  st.insertCert.run(certToRow(cert));
  return 'ok';
}

export function markCertUsed(st: Statements, cs: CertStatements, serial: string, at: string): string[] {
  const row = st.getCert.get(serial);
  if (!row || row.revoked_at) return [];
  cs.markUsed.run(at, serial);
  const older = cs.olderLive.all(row.node_id, serial, row.issued_at ?? row.not_before).map((r) => r.serial);
  for (const s of older) cs.revokeOne.run(at, s, row.node_id);
  return older;
}

export function rejoinNode(st: Statements, cs: CertStatements, input: RejoinInput): EnrollOutcome | 'node-missing' {
  const t = st.getToken.get(input.tokenId);
  const check = tokenCheck(t, input.now);
  if (check !== 'ok' || !t) return check;
  if (!st.getNode.get(input.cert.nodeId)) return 'node-missing';
  st.useToken.run(t.id);
  const others = listNodeCerts(cs, input.cert.nodeId)
    .filter((c) => !c.revokedAt)
    .map((c) => c.serial);
  issueNodeCert(st, cs, input.cert, input.now, others);
  return 'ok';
}
