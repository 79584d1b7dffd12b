// Commands to agents (restart-k3s, reboot, rotate-cert), durable: each is stored before it is sent,
// re-sent whenever its node's agent (re)connects until a result arrives or it expires, and its first
// result is stored. Agents run a command id at most once (they keep a journal of results), so a
// partition, a reconnect or a hub restart neither loses a result nor runs a command twice.
import type { CommandRecord, Store } from '../store/types.js';
import type { EventLog } from '../events.js';
import type { Logger } from '../logger.js';
import { randomString } from '../tokens/secrets.js';

export const DEFAULT_COMMAND_TTL_MS = 15 * 60_000;

export interface CommandOutcome {
  ok: boolean;
  errorCode: string;
  message: string;
}

/** What a command needs from a live link: one frame out. */
export interface CommandSender {
  readonly nodeId: string;
  sendCommand(cmd: { id: string; action: string; args: Record<string, string>; deadlineMs: number }): boolean;
}

export interface CommandServiceOptions {
  store: Store;
  events: EventLog;
  logger: Logger;
  /** The node's live link, if its agent is connected. */
  link(nodeId: string): CommandSender | undefined;
  ttlMs?: number;
  now?: () => number;
  /** How often a waiter reads the store for a result another hub stored (several hubs on one store). */
  pollMs?: number;
}

export const DEFAULT_WAIT_POLL_MS = 250;

type Waiter = (o: CommandOutcome) => void;

function outcomeOf(c: CommandRecord): CommandOutcome | undefined {
  if (c.result) return { ok: c.result.ok, errorCode: c.result.errorCode, message: c.result.message };
  if (c.state === 'expired')
    return {
      ok: false,
      errorCode: 'COMMAND_TIMEOUT',
      message: `command ${c.id} expired at ${c.expiresAt} without a result`,
    };
  return undefined;
}

export class CommandService {
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly now: () => number;
  private readonly ttlMs: number;

  constructor(private readonly opts: CommandServiceOptions) {
    this.now = opts.now ?? Date.now;
    this.ttlMs = opts.ttlMs ?? DEFAULT_COMMAND_TTL_MS;
  }

  /** Stores the command (durable), then sends it if the agent is connected. */
  async issue(nodeId: string, action: string, args: Record<string, string>, actor: string): Promise<CommandRecord> {
    const at = this.now();
    const rec: CommandRecord = {
      id: `cmd-${randomString(16)}`,
      nodeId,
      action,
      args,
      actor,
      state: 'pending',
      createdAt: new Date(at).toISOString(),
      expiresAt: new Date(at + this.ttlMs).toISOString(),
      sentCount: 0,
      result: null,
    };
    await this.opts.store.addCommand(rec);
    const link = this.opts.link(nodeId);
    if (link) await this.deliver(link, rec);
    return rec;
  }

  /**
   * Issues a command and waits up to `timeoutMs` for its result. On a timeout the caller has given up
   * (autoheal, upgrades move on): the command is expired, so a later reconnect does not run it after
   * all; a result that still comes in is recorded.
   */
  async run(
    nodeId: string,
    action: string,
    args: Record<string, string>,
    actor: string,
    timeoutMs: number,
  ): Promise<CommandOutcome & { commandId: string }> {
    const rec = await this.issue(nodeId, action, args, actor);
    const outcome = await this.wait(rec.id, timeoutMs);
    if (outcome.errorCode === 'COMMAND_TIMEOUT') {
      const cancelled = await this.opts.store.cancelCommand(rec.id).catch(() => false);
      if (cancelled)
        return {
          commandId: rec.id,
          ok: false,
          errorCode: 'COMMAND_TIMEOUT',
          message: `no result from the agent within ${timeoutMs} ms; command ${rec.id} was withdrawn`,
        };
    }
    return { commandId: rec.id, ...outcome };
  }

  /** The command's result, as soon as there is one, or COMMAND_TIMEOUT after `timeoutMs`. */
  wait(id: string, timeoutMs: number): Promise<CommandOutcome> {
    return new Promise((resolve) => {
      let set = this.waiters.get(id);
      if (!set) this.waiters.set(id, (set = new Set()));
      const waiters = set;
      const done: Waiter = (o) => {
        clearTimeout(timer);
        clearInterval(poll);
        unsubscribe();
        waiters.delete(done);
        if (waiters.size === 0 && this.waiters.get(id) === waiters) this.waiters.delete(id);
        resolve(o);
      };
      const timer = setTimeout(
        () =>
          done({
            ok: false,
            errorCode: 'COMMAND_TIMEOUT',
            message: `no result from the agent within ${timeoutMs} ms; command ${id} stays pending and is re-sent when the agent reconnects`,
          }),
        timeoutMs,
      );
      const poll = setInterval(() => read(), this.opts.pollMs ?? DEFAULT_WAIT_POLL_MS);
      poll.unref();
      // Several hubs on PostgreSQL: a result another hub stores is heard of at once (pg-changes.ts).
      const unsubscribe = this.opts.store.changes().subscribe((topic) => {
        if (topic === undefined || topic === 'commands') read();
      });
      waiters.add(done);
      // The result may have arrived before anyone waited, or reach another hub (the one holding the
      // node's link), which only stores it: read the store now and every pollMs until done.
      let reading = false;
      const read = (): void => {
        if (reading) return;
        reading = true;
        this.opts.store.getCommand(id).then(
          (c) => {
            reading = false;
            const o = c && outcomeOf(c);
            if (o) done(o);
          },
          () => void (reading = false),
        );
      };
      read();
    });
  }

  /** A result from a node's agent. Only the first result of that node's pending command counts. */
  async result(
    nodeId: string,
    r: { commandId: string; ok: boolean; errorCode: string; message: string },
  ): Promise<void> {
    const outcome: CommandOutcome = { ok: r.ok, errorCode: r.errorCode, message: r.message };
    let rec: CommandRecord | undefined;
    try {
      rec = await this.opts.store.completeCommand(r.commandId, nodeId, outcome, new Date(this.now()).toISOString());
    } catch (err) {
      // Not stored (e.g. a full disk): whoever waits still hears it; the command stays pending, is
      // re-sent at the next connect, and the agent answers again from its journal.
      this.opts.logger.warn(
        { nodeId, commandId: r.commandId, err: (err as Error).message },
        'could not store a command result',
      );
      this.settle(r.commandId, outcome);
      return;
    }
    if (!rec) return; // a duplicate, or not this node's command
    await this.opts.events.note({
      type: 'command.result',
      nodeId,
      actor: `node:${nodeId}`,
      message: `${rec.action} ${r.ok ? 'done' : `failed (${r.errorCode})`}: ${r.message}`.trim(),
      data: { commandId: rec.id, action: rec.action, ok: r.ok, errorCode: r.errorCode, sentCount: rec.sentCount },
    });
    this.settle(rec.id, outcome);
  }

  /** A node's agent (re)connected and was welcomed: send what is still pending for it. */
  async resend(link: CommandSender): Promise<number> {
    const pending = await this.opts.store.pendingCommands(link.nodeId, new Date(this.now()).toISOString());
    for (const c of pending) await this.deliver(link, c);
    if (pending.length)
      this.opts.logger.info({ nodeId: link.nodeId, count: pending.length }, 're-sent pending commands');
    return pending.length;
  }

  /**
   * Sends the stored commands no hub has sent yet whose node's agent is connected here (another hub
   * stored them: the API there has no link to the node). Returns how many were sent.
   */
  async pickUp(nodeIds: readonly string[], limit = 500): Promise<number> {
    if (nodeIds.length === 0) return 0;
    const unsent = await this.opts.store.unsentCommands(new Date(this.now()).toISOString(), limit, nodeIds);
    let sent = 0;
    for (const c of unsent) {
      const link = this.opts.link(c.nodeId);
      if (!link) continue;
      await this.deliver(link, c);
      sent++;
    }
    if (sent) this.opts.logger.info({ count: sent }, 'sent commands stored through another hub');
    return sent;
  }

  /** Marks pending commands past their expiry as expired (an event each). Never throws. */
  async expire(): Promise<void> {
    try {
      for (const c of await this.opts.store.expireCommands(new Date(this.now()).toISOString())) {
        await this.opts.events.note({
          type: 'command.expired',
          nodeId: c.nodeId,
          actor: 'hub',
          message: `${c.action} (${c.id}) expired without a result after ${c.sentCount} send(s)`,
          data: { commandId: c.id, action: c.action },
        });
        this.settle(c.id, outcomeOf(c)!);
      }
    } catch (err) {
      this.opts.logger.warn({ err: (err as Error).message }, 'could not expire commands');
    }
  }

  private async deliver(link: CommandSender, c: CommandRecord): Promise<void> {
    if (!link.sendCommand({ id: c.id, action: c.action, args: c.args, deadlineMs: Date.parse(c.expiresAt) })) return;
    await this.opts.store
      .markCommandSent(c.id)
      .catch((err: unknown) =>
        this.opts.logger.warn({ commandId: c.id, err: (err as Error).message }, 'could not count a command send'),
      );
  }

  private settle(id: string, o: CommandOutcome): void {
    for (const w of [...(this.waiters.get(id) ?? [])]) w(o);
  }
}
