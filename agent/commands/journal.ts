// The agent's command journal: the result of every command id it ran (the last 200), kept in
// <data-dir>/commands.json (0600, written atomically) before the result is sent. The hub re-sends a
// command until it has a result, so a re-sent id is answered from here and never run twice, also
// after an agent restart or a reboot the command itself caused.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSecretFile } from '../../certs/files.js';

export interface JournalEntry {
  ok: boolean;
  errorCode: string;
  message: string;
  at: string;
}

const MAX_ENTRIES = 200;

export class CommandJournal {
  private readonly entries = new Map<string, JournalEntry>();
  private readonly path: string;

  constructor(dataDir: string, private readonly onError: (err: Error) => void = () => undefined) {
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

  ids(): string[] {
    return [...this.entries.keys()];
  }

  put(id: string, result: { ok: boolean; errorCode?: string; message?: string }): JournalEntry {
    const entry: JournalEntry = { ok: result.ok, errorCode: result.errorCode ?? '', message: result.message ?? '', at: new Date().toISOString() };
    this.entries.delete(id);
    this.entries.set(id, entry);
    while (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);
    try {
      writeSecretFile(this.path, JSON.stringify({ entries: [...this.entries] }) + '\n');
    } catch (err) {
      // A full disk must not stop the answer; the id is still known until the agent restarts.
      this.onError(err as Error);
    }
    return entry;
  }
}
