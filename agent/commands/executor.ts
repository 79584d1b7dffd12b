// Runs the hub's commands at most once each (see journal.ts): a re-sent id that is done is answered
// from the journal, one that is running waits for the same run.
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
    this.journal = new CommandJournal(opts.dataDir, (err) => opts.logger.warn({ err: err.message }, 'could not write the command journal'));
  }

  completedIds(): string[] {
    return this.journal.ids();
  }

  /** Runs (or recalls) a command; resolves with the result to send. */
  async run(cmd: Command): Promise<CommandResultFrame> {
    const id = cmd.id ?? '';
    const known = this.journal.get(id);
    if (known) {
      // A re-send (the hub did not get our answer): answer again, do not run it again.
      this.opts.logger.info({ commandId: id, action: cmd.action }, 'command already done; sending its result again');
      return { commandId: id, ok: known.ok, errorCode: known.errorCode, message: known.message };
    }
    let run = this.running.get(id);
    if (!run) {
      this.opts.logger.info({ commandId: id, action: cmd.action }, 'running command');
      run = this.opts.handler(cmd).catch((err: unknown) => ({ ok: false, errorCode: 'COMMAND_FAILED', message: (err as Error).message }))
        .then((result) => {
          // Journal first: once the result may have left, the command must never run again.
          this.journal.put(id, result);
          this.running.delete(id);
          return result;
        });
      this.running.set(id, run);
    }
    const result = await run;
    return { commandId: id, ok: result.ok, errorCode: result.errorCode ?? '', message: result.message ?? '' };
  }
}
