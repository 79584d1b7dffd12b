// Runs the hub's commands at most once each (see journal.ts): a re-sent id that is running waits for
// the same run, one that is done is answered from the journal, and one that cannot be journalled
// before it starts (a full disk) is answered with an error and not run.
import type { Command } from '../../proto/index.js';
import type { Logger } from '../logger.js';
import { CommandJournal } from './journal.js';

export type CommandOutcome = { ok: boolean; errorCode?: string; message?: string };
export type CommandResultFrame = { commandId: string; ok: boolean; errorCode: string; message: string };

export interface CommandExecutorOptions {
  dataDir: string;
  logger: Logger;
  handler: (cmd: Command) => Promise<CommandOutcome>;
}

export class CommandExecutor {
  private readonly journal: CommandJournal;
  /** Commands running now, by id: a re-send while one runs waits for the same run. */
  private readonly running = new Map<string, Promise<CommandOutcome>>();

  constructor(private readonly opts: CommandExecutorOptions) {
    this.journal = new CommandJournal(opts.dataDir, (err) =>
      opts.logger.warn({ err: err.message }, 'could not write the command journal'),
    );
  }

  completedIds(): string[] {
    return this.journal.ids();
  }

  /** Runs (or recalls) a command; resolves with the result to send. */
  async run(cmd: Command): Promise<CommandResultFrame> {
    const id = cmd.id ?? '';
    const frame = (r: CommandOutcome): CommandResultFrame => ({
      commandId: id,
      ok: r.ok,
      errorCode: r.errorCode ?? '',
      message: r.message ?? '',
    });
    const running = this.running.get(id);
    if (running) return frame(await running);
    const known = this.journal.get(id);
    if (known) {
      // A re-send (the hub did not get our answer): answer again, do not run it again. A start with
      // no result is a run an agent restart interrupted: answered as such, not run again either.
      this.opts.logger.info({ commandId: id, action: cmd.action }, 'command already done; sending its result again');
      return frame(known);
    }
    try {
      this.journal.begin(id);
    } catch (err) {
      // Not journalled, not run: it could otherwise run twice (the hub re-sends until it has a result).
      const e = err as NodeJS.ErrnoException;
      this.opts.logger.error(
        { commandId: id, action: cmd.action, err: e.message },
        'cannot journal the command; not running it',
      );
      return frame({
        ok: false,
        errorCode: e.code === 'ENOSPC' ? 'DISK_FULL' : 'JOURNAL_WRITE_FAILED',
        message: `the agent cannot journal this command (${e.message}); it was not run: free space in the agent's data dir and retry`,
      });
    }
    this.opts.logger.info({ commandId: id, action: cmd.action }, 'running command');
    const run = this.opts
      .handler(cmd)
      .catch((err: unknown) => ({ ok: false, errorCode: 'COMMAND_FAILED', message: (err as Error).message }))
      .then((result) => {
        // Journal first: once the result may have left, the command must never run again.
        this.journal.put(id, result);
        this.running.delete(id);
        return result;
      });
    this.running.set(id, run);
    return frame(await run);
  }
}
