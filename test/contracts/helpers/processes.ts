// Child processes a contract test starts: output captured, waited on by pattern, and always killed
// (by pid) in the suite's `after` hook.
import { spawn, type ChildProcess } from 'node:child_process';

export interface Managed {
  readonly name: string;
  readonly proc: ChildProcess;
  /** stdout and stderr interleaved, as received. */
  output(): string;
  waitFor(re: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
  /** Sends SIGTERM (SIGKILL after 5 s) and resolves with the exit code (null when killed by signal). */
  stop(): Promise<number | null>;
  exited(): Promise<number | null>;
}

export class ProcessRegistry {
  private readonly procs = new Set<Managed>();

  start(name: string, cmd: string, args: readonly string[], env: NodeJS.ProcessEnv): Managed {
    const proc = spawn(cmd, [...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const waiters = new Set<() => void>();
    const onData = (b: Buffer): void => {
      out += b.toString('utf8');
      for (const w of [...waiters]) w();
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    const exit = new Promise<number | null>((resolve) =>
      proc.once('exit', (code) => {
        for (const w of [...waiters]) w();
        resolve(code);
      }),
    );
    const m: Managed = {
      name,
      proc,
      output: () => out,
      exited: () => exit,
      waitFor: (re, timeoutMs) =>
        new Promise((resolve, reject) => {
          const check = (): void => {
            const hit = re.exec(out);
            if (hit) {
              cleanup();
              resolve(hit);
            } else if (proc.exitCode !== null || proc.signalCode !== null) {
              cleanup();
              reject(new Error(`${name} exited (${proc.exitCode ?? proc.signalCode}) before printing ${re}:\n${out}`));
            }
          };
          const timer = setTimeout(() => {
            cleanup();
            reject(new Error(`${name} did not print ${re} within ${timeoutMs} ms:\n${out}`));
          }, timeoutMs);
          const cleanup = (): void => {
            clearTimeout(timer);
            waiters.delete(check);
          };
          waiters.add(check);
          check();
        }),
      stop: async () => {
        if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
        const code = await exit;
        clearTimeout(t);
        this.procs.delete(m);
        return code;
      },
    };
    this.procs.add(m);
    return m;
  }

  /** Kills every process still running, by pid. */
  async killAll(): Promise<void> {
    await Promise.all(
      [...this.procs].map(async (m) => {
        if (m.proc.exitCode === null && m.proc.signalCode === null && m.proc.pid !== undefined) {
          try {
            process.kill(m.proc.pid, 'SIGKILL');
          } catch {
            // already gone
          }
          await m.exited();
        }
      }),
    );
    this.procs.clear();
  }
}
