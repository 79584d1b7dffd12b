// The SQLite store, whole: certificates, events and commands on top of SqliteNodeStore (pools,
// tokens, nodes) and SqliteStoreBase (settings, documents). openSqliteStore (sqlite-store.ts) makes one.
import type Database from 'better-sqlite3';
import { issueNodeCert, listNodeCerts, markCertUsed, prepareCertStatements, rejoinNode } from './sqlite-certs.js';
import { SqliteNodeStore } from './sqlite-nodes-store.js';
import { certFromRow, certToRow, commandFromRow, commandToRow } from './rows.js';
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

export class SqliteStore extends SqliteNodeStore implements Store {
  private readonly cs: ReturnType<typeof prepareCertStatements>;

  constructor(db: Database.Database, path: string) {
    super(db, path);
    this.cs = prepareCertStatements(db);
  }

  // Certificates.
  addCert(cert: CertRecord): Promise<void> {
    return this.run('adding a certificate', () => {
      if (this.st.getCert.get(cert.serial)) {
        throw new StoreError('CONFLICT', `certificate serial ${cert.serial} already exists`);
      }
      this.st.insertCert.run(certToRow(cert));
    });
  }

  getCert(serial: string): Promise<CertRecord | undefined> {
    return this.run('reading a certificate', () => {
      const row = this.st.getCert.get(serial);
      return row && certFromRow(row);
    });
  }

  listCerts(nodeId: string): Promise<CertRecord[]> {
    return this.run('listing certificates', () => this.st.listCerts.all(nodeId).map(certFromRow));
  }

  listExpiringCerts(
    before: string,
    limit: number,
  ): Promise<Array<{ nodeId: string; serial: string; notAfter: string }>> {
    return this.run('listing expiring certificates', () =>
      this.st.listExpiringCerts
        .all({ before, limit: Math.max(1, Math.floor(limit)) })
        .map((r) => ({ nodeId: r.node_id, serial: r.serial, notAfter: r.not_after })),
    );
  }

  listNodeCerts(nodeId: string): Promise<NodeCertRecord[]> {
    return this.run('listing certificates', () => listNodeCerts(this.cs, nodeId));
  }

  issueNodeCert(cert: NodeCertRecord, now: string, revokeSerials: readonly string[] = []): Promise<IssueCertOutcome> {
    return this.run('storing a renewed certificate', () =>
      this.tx(() => issueNodeCert(this.st, this.cs, cert, now, revokeSerials)),
    );
  }

  markCertUsed(serial: string, at: string): Promise<string[]> {
    return this.run('recording certificate use', () => this.tx(() => markCertUsed(this.st, this.cs, serial, at)));
  }

  rejoinNode(input: RejoinInput): Promise<EnrollOutcome | 'node-missing'> {
    return this.run('re-enrolling a node', () => this.tx(() => rejoinNode(this.st, this.cs, input)));
  }

  currentCerts(): Promise<CurrentCert[]> {
    return this.run('listing current certificates', () => this.cs.current.all());
  }

  // Events (sqlite-events.ts).
  appendEvent(event: NewEvent): Promise<EventRecord> {
    return this.run('appending an event', () => this.events.append(event));
  }

  replaceEvent(oldId: number | null, event: NewEvent): Promise<EventRecord> {
    return this.run('replacing an event', () => this.events.replace(oldId, event));
  }

  listEvents(query: EventQuery): Promise<EventRecord[]> {
    return this.run('listing events', () => this.events.list(query));
  }

  eventStats(): Promise<EventStats> {
    return this.run('counting events', () => this.events.stats());
  }

  pruneEvents(opts: EventPrune): Promise<number> {
    return this.run('pruning events', () => this.events.prune(opts));
  }

  // Commands.
  addCommand(cmd: CommandRecord): Promise<void> {
    return this.run('storing a command', () => {
      this.st.insertCommand.run(commandToRow(cmd));
    });
  }

  getCommand(id: string): Promise<CommandRecord | undefined> {
    return this.run('reading a command', () => {
      const row = this.st.getCommand.get(id);
      return row && commandFromRow(row);
    });
  }

  listCommands(nodeId: string, limit: number): Promise<CommandRecord[]> {
    return this.run('listing commands', () =>
      this.st.listCommands.all(nodeId, Math.max(1, Math.min(1000, Math.floor(limit)))).map(commandFromRow),
    );
  }

  pendingCommands(nodeId: string, now: string): Promise<CommandRecord[]> {
    return this.run('listing pending commands', () => this.st.pendingCommands.all(nodeId, now).map(commandFromRow));
  }

  unsentCommands(now: string, limit: number, nodeIds: readonly string[]): Promise<CommandRecord[]> {
    return this.run('listing unsent commands', () =>
      this.st.unsentCommands.all(now, JSON.stringify(nodeIds), limit).map(commandFromRow),
    );
  }

  markCommandSent(id: string): Promise<void> {
    return this.run('marking a command sent', () => {
      this.st.markCommandSent.run(id);
    });
  }

  completeCommand(
    id: string,
    nodeId: string,
    result: { ok: boolean; errorCode: string; message: string },
    at: string,
  ): Promise<CommandRecord | undefined> {
    return this.run('storing a command result', () =>
      this.tx(() => {
        if (
          this.st.completeCommand.run(result.ok ? 1 : 0, result.errorCode, result.message, at, id, nodeId).changes === 0
        )
          return undefined;
        const row = this.st.getCommand.get(id);
        return row && commandFromRow(row);
      }),
    );
  }

  expireCommands(now: string): Promise<CommandRecord[]> {
    return this.run('expiring commands', () =>
      this.tx(() => {
        const rows = this.st.expiredCommands.all(now);
        for (const r of rows) this.st.expireCommand.run(r.id);
        return rows.map((r) => commandFromRow({ ...r, state: 'expired' }));
      }),
    );
  }

  cancelCommand(id: string): Promise<boolean> {
    return this.run('cancelling a command', () => this.st.expireCommand.run(id).changes > 0);
  }
}
