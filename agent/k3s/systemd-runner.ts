// Runs `k3s agent` as the systemd unit k3s-agent.service when systemd is PID 1 (the unit the k3s
// installer writes). systemd restarts it; the agent only writes the unit and asks systemctl.
import { existsSync, readFileSync } from 'node:fs';
import { execa } from 'execa';
import { writePublicFile } from '../../certs/files.js';
import type { K3sRunner, K3sProcState } from './child-runner.js';
import type { Logger } from '../logger.js';
import { logFailure } from '../../certs/log-failure.js';

export const UNIT_NAME = 'k3s-agent.service';

export function systemdIsPid1(): boolean {
  return existsSync('/run/systemd/system');
}

export function renderUnit(bin: string, configPath: string): string {
  return [
    '[Unit]',
    'Description=Lightweight Kubernetes (k3s agent, managed by atoll-agent)',
    'Documentation=https://k3s.io',
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
    '[Service]',
    'Type=notify',
    'KillMode=process',
    'Delegate=yes',
    'LimitNOFILE=1048576',
    'LimitNPROC=infinity',
    'LimitCORE=infinity',
    'TasksMax=infinity',
    'TimeoutStartSec=0',
    'Restart=always',
    'RestartSec=5s',
    'ExecStartPre=-/sbin/modprobe br_netfilter',
    'ExecStartPre=-/sbin/modprobe overlay',
    `ExecStart=${bin} agent --config ${configPath}`,
    '',
  ].join('\n');
}

export function createSystemdRunner(opts: {
  bin: string;
  config: string;
  unitPath?: string;
  logger: Logger;
}): K3sRunner {
  const unitPath = opts.unitPath ?? `/etc/systemd/system/${UNIT_NAME}`;
  let restarts = 0;
  let state: K3sProcState = 'stopped';
  let startedAt = 0;
  const systemctl = (...args: string[]) => execa('systemctl', args, { reject: false, timeout: 60_000 });
  const refresh = async (): Promise<void> => {
    const r = await systemctl('show', UNIT_NAME, '--property=ActiveState,NRestarts,ExecMainStartTimestampMonotonic');
    const props = Object.fromEntries(
      String(r.stdout)
        .split('\n')
        .map((l) => l.split('=', 2)),
    );
    state =
      props.ActiveState === 'active'
        ? 'running'
        : props.ActiveState === 'activating'
          ? 'starting'
          : props.ActiveState === 'failed'
            ? 'crashed'
            : 'stopped';
    restarts = Number(props.NRestarts ?? 0);
  };
  const timer = setInterval(() => refresh().catch(logFailure(opts.logger, 'reading the k3s-agent unit state')), 5000);
  timer.unref();
  return {
    survivesAgent: true,
    start() {
      const unit = renderUnit(opts.bin, opts.config);
      const changed = !existsSync(unitPath) || readFileSync(unitPath, 'utf8') !== unit;
      if (changed) writePublicFile(unitPath, unit);
      startedAt = Date.now();
      state = 'starting';
      (async () => {
        if (changed) await systemctl('daemon-reload');
        const r = await systemctl('enable', '--now', UNIT_NAME);
        if (r.exitCode !== 0)
          opts.logger.error({ stderr: String(r.stderr) }, 'systemctl enable --now k3s-agent failed');
        await refresh();
      })().catch(logFailure(opts.logger, 'starting the k3s-agent unit'));
    },
    async stop() {
      await systemctl('disable', '--now', UNIT_NAME);
      state = 'stopped';
    },
    async restart() {
      startedAt = Date.now();
      await systemctl('restart', UNIT_NAME);
      await refresh();
    },
    state: () => state,
    restarts: () => restarts,
    lastLogLines: () => [],
    startedAt: () => startedAt,
    lastCrashAt: () => 0,
  };
}
