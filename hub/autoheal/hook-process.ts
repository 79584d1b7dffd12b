// One run of an operator's hook executable, bounded: its stdin gets `input`; its stdout and stderr
// are kept up to `maxBuffer` bytes each; it runs in a process group of its own. The run ends when the
// hook exits (a background child it left holding stdout does not keep the hub waiting), or at the
// deadline, when the whole group gets SIGTERM then SIGKILL and the run is reported timed out without
// waiting any longer. Its environment is the hub's without atoll's and k3s's own variables
// (ATOLL_*, K3S_*: the datastore URL with its password, tokens), so a hook or a CLI it runs cannot
// leak them; the operator's cloud credentials in the hub's environment stay available to it.
import { spawn } from 'node:child_process';

export interface HookRun {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** The hook printed more than maxBuffer bytes on stdout (it was stopped). */
  overflow: boolean;
}

/** After the hook exits, how long its output may still drain through the pipes. */
const DRAIN_MS = 200;
/** After SIGTERM at the deadline, how long before SIGKILL. */
const KILL_AFTER_MS = 2000;

export function hookEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !/^(ATOLL|K3S)_/i.test(k)));
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Gone already.
  }
}

export function runHookProcess(
  path: string,
  args: readonly string[],
  input: string,
  o: { timeoutMs: number; maxBuffer: number },
): Promise<HookRun> {
  return new Promise((resolve) => {
    const child = spawn(path, [...args], { detached: true, stdio: ['pipe', 'pipe', 'pipe'], env: hookEnv() });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let overflow = false;
    let settled = false;
    let exit: { code: number | null; signal: string | null } | undefined;
    const finish = (timedOut: boolean, spawnError?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      child.stdout.destroy();
      child.stderr.destroy();
      resolve({
        exitCode: exit?.code ?? (spawnError ? 127 : null),
        signal: exit?.signal ?? null,
        stdout: Buffer.concat(out)
          .toString('utf8')
          .replace(/\r?\n$/, ''),
        stderr: spawnError ? spawnError.message : Buffer.concat(err).toString('utf8'),
        timedOut,
        overflow,
      });
    };
    const deadline = setTimeout(() => {
      killGroup(child.pid, 'SIGTERM');
      setTimeout(() => killGroup(child.pid, 'SIGKILL'), KILL_AFTER_MS).unref();
      finish(true);
    }, o.timeoutMs);
    child.stdout.on('data', (b: Buffer) => {
      outBytes += b.length;
      if (outBytes > o.maxBuffer) {
        overflow = true;
        killGroup(child.pid, 'SIGKILL');
        finish(false);
        return;
      }
      out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      if (errBytes < o.maxBuffer) err.push(b.subarray(0, o.maxBuffer - errBytes));
      errBytes += b.length;
    });
    child.on('error', (e) => finish(false, e));
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      // The output already written is read in full once both pipes close, or after DRAIN_MS when a
      // background child of the hook still holds them open.
      const drained = setTimeout(() => finish(false), DRAIN_MS);
      drained.unref();
      let open = 2;
      const closed = (): void => {
        if (--open === 0) {
          clearTimeout(drained);
          finish(false);
        }
      };
      if (child.stdout.closed) closed();
      else child.stdout.once('close', closed);
      if (child.stderr.closed) closed();
      else child.stderr.once('close', closed);
    });
    child.stdin.on('error', () => undefined); // a hook that does not read its input
    child.stdin.end(input);
  });
}
