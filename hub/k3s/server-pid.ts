// The k3s server's pid file. A hub killed with SIGKILL cannot stop its k3s server, which keeps the
// API port and the datastore; the next hub would then crash-loop on "address in use". At start the
// hub stops that leftover server, and only it: the pid must be alive AND its command line must be
// `k3s server ... --data-dir <this hub's k3s data dir>` (a reused pid is left alone).
import { join } from 'node:path';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether `pid` is a k3s server of the data dir `k3sDataDir` (from /proc/<pid>/cmdline). */
export function isOurServer(pid: number, k3sDataDir: string): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const i = argv.indexOf('--data-dir');
    return argv.includes('server') && i >= 0 && argv[i + 1] === k3sDataDir;
  } catch {
    return false;
  }
}

/** Where the hub records the pid of the k3s server (or restore) it runs. */
export function serverPidFile(k3sDataDir: string): string {
  return join(k3sDataDir, 'atoll-server.pid');
}

export function writeServerPid(path: string, pid: number): void {
  writeFileSync(path, `${pid}\n`, { mode: 0o644 });
}

export function clearServerPid(path: string): void {
  rmSync(path, { force: true });
}

/** Stops a server left by an earlier hub (SIGTERM, then SIGKILL after `graceMs`). Returns its pid, if there was one. */
export async function reapLeftover(path: string, k3sDataDir: string, graceMs = 15_000): Promise<number | undefined> {
  let pid: number;
  try {
    pid = Number(readFileSync(path, 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid || !alive(pid) || !isOurServer(pid, k3sDataDir)) {
    clearServerPid(path);
    return undefined;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  clearServerPid(path);
  return pid;
}
