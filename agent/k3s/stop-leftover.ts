// Stops a k3s agent this data dir runs when no agent manages it: before a node joins again with a new
// identity (a removed or foreign one), the k3s that ran for the old identity must not keep serving
// (its kubelet would register the removed node again). The unit is only this data dir's own (its
// ExecStart names our binary); the child only the one in our pid file still running our binary.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { execa } from 'execa';
import { k3sPaths } from './paths.js';
import { UNIT_NAME } from './systemd-runner.js';
import { adoptable, alive } from './child-runner.js';

export async function stopLeftoverK3s(
  agentDataDir: string,
  unitPath = `/etc/systemd/system/${UNIT_NAME}`,
): Promise<string[]> {
  const p = k3sPaths(agentDataDir);
  const stopped: string[] = [];
  if (existsSync(unitPath) && readFileSync(unitPath, 'utf8').includes(`ExecStart=${p.bin} `)) {
    await execa('systemctl', ['disable', '--now', UNIT_NAME], { reject: false, timeout: 90_000 });
    stopped.push(UNIT_NAME);
  }
  const pid = adoptable(p.pid, p.bin);
  if (pid) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
    for (let i = 0; i < 150 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    try {
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
    rmSync(p.pid, { force: true });
    stopped.push(`k3s pid ${pid}`);
  }
  return stopped;
}
