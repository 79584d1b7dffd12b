// Type=notify units wait for READY=1. Node cannot send unix datagrams itself, so this asks
// systemd-notify (works when the unit sets NotifyAccess=all; see the stand-in's README notes).
import { spawn } from 'node:child_process';

export function notifyReady(env: NodeJS.ProcessEnv): void {
  if (!env.NOTIFY_SOCKET) return;
  try {
    const child = spawn('systemd-notify', ['--ready', `--pid=${process.pid}`], { stdio: 'ignore', env });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // best effort
  }
}
