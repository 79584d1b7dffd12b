// The agent's command journal: every command id it started and the result of every one it finished
// (the last 200), kept in <data-dir>/commands.json (0600, written atomically). A command is journalled
// as started before it runs, and its result before the result is sent. The hub re-sends a command
// until it has a result, so a re-sent id is answered from here and never run twice, also after an
// agent restart or a reboot the command itself caused. A command whose start cannot be written (a
// full disk) is not run at all: begin() says so and the caller answers with an error instead.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSecretFile } from '../../certs/files.js';

export interface JournalEntry {
  ok: boolean;
  errorCode: string;
  message: string;
  at: string;
  /** Started, no result stored yet (if still so after a restart, the run was interrupted). */
  running?: boolean;
}

const MAX_ENTRIES = 200;

export class CommandJournal {
  private readonly entries = new Map<string, JournalEntry>();
  private readonly path: string;

  constructor(
    dataDir: string,
    private readonly onError: (err: Error) => void = () => undefined,
  ) {
    this.path = join(dataDir, 'commands.json');
    try {
      const parsed = JSON.parse(readFileSync(this.path, 'utf8')) as { entries?: Array<[string, JournalEntry]> };
      for (const [id, e] of parsed.entries ?? []) {
        if (typeof id === 'string' && e && typeof e.ok === 'boolean') this.entries.set(id, e);
      }
    } catch {
      // absent or unreadable: start empty
    }
  }

  get(id: string): JournalEntry | undefined {
    return this.entries.get(id);
  }

  /** Ids of finished commands. */
  ids(): string[] {
    return [...this.entries].filter(([, e]) => !e.running).map(([id]) => id);
  }

  /** Records that `id` starts. Throws (and records nothing) when that cannot be made durable. */
  begin(id: string): void {
    const entry: JournalEntry = {
      ok: false,
      errorCode: 'COMMAND_INTERRUPTED',
      message: 'the agent stopped while this command ran; it is not run again',
      at: new Date().toISOString(),
      running: true,
    };
    this.set(id, entry);
    try {
      this.write();
    } catch (err) {
      this.entries.delete(id);
      throw err;
    }
  }

  put(id: string, result: { ok: boolean; errorCode?: string; message?: string }): JournalEntry {
    const entry: JournalEntry = {
      ok: result.ok,
      errorCode: result.errorCode ?? '',
      message: result.message ?? '',
      at: new Date().toISOString(),
    };
    this.set(id, entry);
    try {
      this.write();
    } catch (err) {
      // The command ran: its result must not stop the answer; the id is still known until the agent
      // restarts (then its started entry, if that was written, answers it as interrupted).
      this.onError(err as Error);
    }
    return entry;
  }

  private set(id: string, entry: JournalEntry): void {
    this.entries.delete(id);
    this.entries.set(id, entry);
    while (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);
  }

  private write(): void {
    writeSecretFile(this.path, JSON.stringify({ entries: [...this.entries] }) + '\n');
  }
}
