// The hub's commands, carried out on the node. Each answers with ok or a stable error code.
import { execa } from 'execa';
import type { Command } from '../../proto/index.js';
import type { Logger } from '../logger.js';

export interface CommandContext {
  k3sEnabled: boolean;
  rebootCommand: string[];
  logger: Logger;
  restartK3s?: () => Promise<void>;
  renewCertificate: () => Promise<void>;
  /** Self-upgrade: stage the bundle, answer, then restart into it. */
  upgradeAgent?: (args: Record<string, string>) => Promise<CommandResultLike>;
}

export type CommandResultLike = { ok: boolean; errorCode?: string; message?: string };

export function createCommandHandler(ctx: CommandContext): (cmd: Command) => Promise<CommandResultLike> {
  return async (cmd) => {
    switch (cmd.action) {
      case 'restart-k3s':
        if (!ctx.k3sEnabled || !ctx.restartK3s)
          return { ok: false, errorCode: 'K3S_DISABLED', message: 'k3s is not managed on this node (--k3s off)' };
        await ctx.restartK3s();
        return { ok: true, message: 'k3s restarted' };
      case 'reboot': {
        const [bin, ...args] = ctx.rebootCommand;
        if (!bin) return { ok: false, errorCode: 'REBOOT_UNAVAILABLE', message: 'no reboot command configured' };
        ctx.logger.warn({ command: ctx.rebootCommand.join(' ') }, "rebooting on the hub's command");
        // Answer first: the reboot may kill us before we could.
        setTimeout(() => {
          execa(bin, args, { reject: false, timeout: 30_000 }).then(
            (r) => {
              if (r.exitCode !== 0)
                ctx.logger.error({ exitCode: r.exitCode, stderr: r.stderr }, 'reboot command failed');
            },
            () => undefined,
          );
        }, 200);
        return { ok: true, message: `rebooting (${ctx.rebootCommand.join(' ')})` };
      }
      case 'upgrade-agent':
        if (!ctx.upgradeAgent)
          return { ok: false, errorCode: 'SELF_UPGRADE_UNSUPPORTED', message: 'this agent cannot upgrade itself' };
        return ctx.upgradeAgent(cmd.args ?? {});
      case 'rotate-cert':
        await ctx.renewCertificate();
        return { ok: true, message: 'certificate renewal requested' };
      default:
        return { ok: false, errorCode: 'UNKNOWN_COMMAND', message: `this agent does not know "${cmd.action}"` };
    }
  };
}
