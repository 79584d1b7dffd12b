// The PostgreSQL store, whole: certificates, events and commands on top of PgNodeStore (pools, tokens,
// nodes) and PgStoreBase (settings, documents). openPostgresStore (pg-store.ts) makes one.
import type { Exec } from './pg-db.js';
import { appendEvent, eventStats, listEvents, pruneEvents, removeEvent } from './pg-events.js';
import { NQ } from './pg-node-sql.js';
import { CQ } from './pg-command-sql.js';
import { PgNodeStore, certParams, insertCert } from './pg-nodes-store.js';
import { PRUNE_EXPIRED_AFTER_MS } from './store-rules.js';
import { getSecret, putSecretIfAbsent, replaceK3sTokenSecret, replaceSecret } from './pg-secrets.js';
import * as d2 from './pg-day2.js';
import type { ClusterStore } from './cluster-types.js';
import type {
  AlertInput,
  AlertSync,
  StoredVersionSupport,
  SupportStateChange,
  SupportStateEntry,
} from './day2-types.js';
import {
  certFromRow,
  certToRow,
  commandFromRow,
  commandToRow,
  nodeCertFromRow,
  tokenCheck,
  type CertRow,
  type CommandRow,
  type TokenRow,
} from './rows.js';
import {
  StoreError,
  type CertRecord,
  type CommandRecord,
  type CurrentCert,
  type EnrollOutcome,
  type EventPrune,
  type EventQuery,
  type EventRecord,
  type EventStats,
  type IssueCertOutcome,
  type NewEvent,
  type NodeCertRecord,
  type RejoinInput,
  type Store,
} from './types.js';

/** Records a certificate of a node whose row the transaction holds (or found missing). */
async function issue(
  ex: Exec,
  cert: NodeCertRecord,
  now: string,
  revokeSerials: readonly string[],
): Promise<IssueCertOutcome> {
  if (!(await ex.row(NQ.holdNode, [cert.nodeId]))) {
    // Removed while this was being signed: keep the serial, revoked, so it can never be used.
    await insertCert(ex, { ...cert, revokedAt: now });
    return 'node-missing';
  }
  if (revokeSerials.length) await ex.count(NQ.revokeSome, [now, [...revokeSerials], cert.nodeId]);
  const pruneBefore = new Date(Date.parse(now) - PRUNE_EXPIRED_AFTER_MS).toISOString();
  await ex.count(NQ.pruneExpired, [cert.nodeId, pruneBefore]);
  await insertCert(ex, cert);
  return 'ok';
}

/** Everything but the cluster tables, which PgClusterStore (pg-cluster-store.ts) adds. */
export class PgStore extends PgNodeStore implements Omit<Store, keyof ClusterStore> {
  // Day-2 tables (pg-day2.ts).
  getVersionSupport = (): Promise<StoredVersionSupport | undefined> => d2.getVersionSupport(this.db);
  setVersionSupport = (data: StoredVersionSupport | null, event: NewEvent): Promise<EventRecord> =>
    d2.setVersionSupport(this.db, data, event, this.nowIso());
  recordSupportStates = (
    entries: readonly SupportStateEntry[],
    at: string,
    prune?: { prefix: string; keep: readonly string[] },
  ): Promise<SupportStateChange[]> => d2.recordSupportStates(this.db, entries, at, prune);
  syncAlerts = (active: readonly AlertInput[], at: string): Promise<AlertSync> => d2.syncAlerts(this.db, active, at);

  // Sealed secrets (pg-secrets.ts).
  getSecret(name: string): Promise<Buffer | undefined> {
    return getSecret(this.db, name);
  }

  putSecretIfAbsent(name: string, sealed: Buffer): Promise<Buffer> {
    return putSecretIfAbsent(this.db, name, sealed, this.nowIso());
  }

  replaceSecret(name: string, sealed: Buffer): Promise<void> {
    return replaceSecret(this.db, name, sealed, this.nowIso());
  }

  replaceK3sTokenSecret(nodeId: string, expected: string, next: string): Promise<boolean> {
    return replaceK3sTokenSecret(this.db, nodeId, expected, next);
  }

  // Certificates.
  addCert(cert: CertRecord): Promise<void> {
    return this.db.run('adding a certificate', async (ex) => {
      if ((await ex.count(NQ.insertCertOnce, certParams(certToRow(cert)))) === 0)
        throw new StoreError('CONFLICT', `certificate serial ${cert.serial} already exists`);
    });
  }

  getCert(serial: string): Promise<CertRecord | undefined> {
    return this.db.run('reading a certificate', async (ex) => {
      const row = await ex.row<CertRow>(NQ.getCert, [serial]);
      return row && certFromRow(row);
    });
  }

  listCerts(nodeId: string): Promise<CertRecord[]> {
    return this.db.run('listing certificates', async (ex) =>
      (await ex.rows<CertRow>(NQ.listCerts, [nodeId])).map(certFromRow),
    );
  }

  listExpiringCerts(
    before: string,
    limit: number,
  ): Promise<Array<{ nodeId: string; serial: string; notAfter: string }>> {
    return this.db.run('listing expiring certificates', async (ex) =>
      (
        await ex.rows<{ node_id: string; serial: string; not_after: string }>(NQ.listExpiringCerts, [
          before,
          Math.max(1, Math.floor(limit)),
        ])
      ).map((r) => ({ nodeId: r.node_id, serial: r.serial, notAfter: r.not_after })),
    );
  }

  listNodeCerts(nodeId: string): Promise<NodeCertRecord[]> {
    return this.db.run('listing certificates', async (ex) =>
      (await ex.rows<CertRow>(NQ.listNodeCerts, [nodeId])).map(nodeCertFromRow),
    );
  }

  issueNodeCert(cert: NodeCertRecord, now: string, revokeSerials: readonly string[] = []): Promise<IssueCertOutcome> {
    return this.db.tx('storing a renewed certificate', (ex) => issue(ex, cert, now, revokeSerials));
  }

  markCertUsed(serial: string, at: string): Promise<string[]> {
    return this.db.tx('recording certificate use', async (ex) => {
      const row = await ex.row<CertRow>(NQ.lockCert, [serial]);
      if (!row || row.revoked_at) return [];
      await ex.count(NQ.markUsed, [at, serial]);
      const older = (
        await ex.rows<{ serial: string }>(NQ.olderLive, [row.node_id, serial, row.issued_at ?? row.not_before])
      ).map((r) => r.serial);
      if (older.length) await ex.count(NQ.revokeSome, [at, older, row.node_id]);
      return older;
    });
  }

  rejoinNode(input: RejoinInput): Promise<EnrollOutcome | 'node-missing'> {
    return this.db.tx('re-enrolling a node', async (ex): Promise<EnrollOutcome | 'node-missing'> => {
      const t = await ex.row<TokenRow>(NQ.lockToken, [input.tokenId]);
      const check = tokenCheck(t, input.now);
      if (check !== 'ok' || !t) return check;
      if (!(await ex.row(NQ.holdNode, [input.cert.nodeId]))) return 'node-missing';
      await ex.count(NQ.useToken, [t.id]);
      const live = (await ex.rows<CertRow>(NQ.listNodeCerts, [input.cert.nodeId]))
        .filter((c) => !c.revoked_at)
        .map((c) => c.serial);
      return issue(ex, input.cert, input.now, live);
    });
  }

  currentCerts(): Promise<CurrentCert[]> {
    return this.db.run('listing current certificates', (ex) => ex.rows<CurrentCert>(NQ.current));
  }

  // Events (pg-events.ts).
  appendEvent(event: NewEvent): Promise<EventRecord> {
    return this.db.run('appending an event', (ex) => appendEvent(ex, event, this.nowIso()));
  }

  replaceEvent(oldId: number | null, event: NewEvent): Promise<EventRecord> {
    return this.db.tx('replacing an event', async (ex) => {
      if (oldId !== null) await removeEvent(ex, oldId);
      return appendEvent(ex, event, this.nowIso());
    });
  }

  listEvents(query: EventQuery): Promise<EventRecord[]> {
    return this.db.run('listing events', (ex) => listEvents(ex, query));
  }

  eventStats(): Promise<EventStats> {
    return this.db.run('counting events', (ex) => eventStats(ex));
  }

  pruneEvents(opts: EventPrune): Promise<number> {
    return this.db.tx('pruning events', (ex) => pruneEvents(ex, opts));
  }

  // Commands.
  async addCommand(cmd: CommandRecord): Promise<void> {
    const r = commandToRow(cmd);
    return this.db.run('storing a command', async (ex) => {
      await ex.count(CQ.insert, [
        r.id,
        r.node_id,
        r.action,
        r.args,
        r.actor,
        r.state,
        r.created_at,
        r.expires_at,
        r.sent_count,
        r.ok,
        r.error_code,
        r.message,
        r.completed_at,
      ]);
    });
  }

  getCommand(id: string): Promise<CommandRecord | undefined> {
    return this.db.run('reading a command', async (ex) => {
      const row = await ex.row<CommandRow>(CQ.get, [id]);
      return row && commandFromRow(row);
    });
  }

  listCommands(nodeId: string, limit: number): Promise<CommandRecord[]> {
    const max = Math.max(1, Math.min(1000, Math.floor(limit)));
    return this.db.run('listing commands', async (ex) =>
      (await ex.rows<CommandRow>(CQ.list, [nodeId, max])).map(commandFromRow),
    );
  }

  pendingCommands(nodeId: string, now: string): Promise<CommandRecord[]> {
    return this.db.run('listing pending commands', async (ex) =>
      (await ex.rows<CommandRow>(CQ.pending, [nodeId, now])).map(commandFromRow),
    );
  }

  unsentCommands(now: string, limit: number, nodeIds: readonly string[]): Promise<CommandRecord[]> {
    return this.db.run('listing unsent commands', async (ex) =>
      (await ex.rows<CommandRow>(CQ.unsent, [now, limit, [...nodeIds]])).map(commandFromRow),
    );
  }

  markCommandSent(id: string): Promise<void> {
    return this.db.run('marking a command sent', async (ex) => {
      await ex.count(CQ.markSent, [id]);
    });
  }

  completeCommand(
    id: string,
    nodeId: string,
    result: { ok: boolean; errorCode: string; message: string },
    at: string,
  ): Promise<CommandRecord | undefined> {
    return this.db.run('storing a command result', async (ex) => {
      const row = await ex.row<CommandRow>(CQ.complete, [
        result.ok ? 1 : 0,
        result.errorCode,
        result.message,
        at,
        id,
        nodeId,
      ]);
      return row && commandFromRow(row);
    });
  }

  expireCommands(now: string): Promise<CommandRecord[]> {
    return this.db.run('expiring commands', async (ex) =>
      (await ex.rows<CommandRow>(CQ.expire, [now])).map(commandFromRow),
    );
  }

  cancelCommand(id: string): Promise<boolean> {
    return this.db.run('cancelling a command', async (ex) => (await ex.count(CQ.cancel, [id])) > 0);
  }
}
