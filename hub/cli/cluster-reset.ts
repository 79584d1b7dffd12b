// atoll-hub cluster reset [--from FILE | --empty] [--backup-dir DIR] [--yes]: with the hub stopped, the k3s datastore back
// to the newest backup's (or empty, asked for), and new k3s bootstrap tokens for every node (hub/backup/cluster-reset.ts).
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { defaultDataDir } from '../config.js';
import { resetCluster } from '../backup/cluster-reset.js';
import { clusterSecretFile } from '../config-values.js';
import { CliError } from './output.js';
import { BACKUP_DIR_HELP, backupDirOf } from '../backup/backup-config.js';

interface ResetFlags {
  from?: string;
  backupDir?: string;
  empty?: boolean;
  yes?: boolean;
  clusterSecretFile?: string;
  acceptUnsigned?: boolean;
}

async function confirmed(dataDir: string): Promise<boolean> {
  if (!process.stdin.isTTY)
    throw new CliError('cluster reset replaces the k3s datastore: pass --yes (no terminal to ask at)', 2);
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question(
      `This moves the k3s datastore of ${dataDir} aside and starts it from the newest backup (or empty with --empty); ` +
        'Kubernetes objects made since are lost. Type "reset" to go on: ',
    );
    return answer.trim() === 'reset';
  } finally {
    rl.close();
  }
}

export function registerClusterReset(cluster: Command): void {
  cluster
    .command('reset')
    .description(
      'with the hub stopped: the k3s datastore back to the newest backup (or --empty); nodes register again by themselves',
    )
    .option('--from <file>', 'the backup archive whose k3s datastore to use (default the newest in the backup dir)')
    .option('--backup-dir <dir>', BACKUP_DIR_HELP)
    .option('--empty', 'start the k3s datastore empty (without it, no usable backup stops the reset)')
    .option(
      '--cluster-secret-file <path>',
      'the cluster secret the archives are signed with (default <data-dir>/cluster-secret)',
    )
    .option('--accept-unsigned', 'use an archive of an older format, which carries no signature')
    .option('--yes', 'do not ask for confirmation')
    .action(async (o: ResetFlags, cmd: Command) => {
      const g = cmd.optsWithGlobals<{ dataDir?: string }>();
      const dataDir = resolve(g.dataDir ?? defaultDataDir(process.env, process.getuid?.() === 0));
      if (o.from && o.empty) throw new CliError('--from and --empty exclude each other', 2);
      if (!o.yes && !(await confirmed(dataDir))) throw new CliError('not confirmed: nothing was changed', 1);
      const r = await resetCluster({
        dataDir,
        from: o.from ? resolve(o.from) : undefined,
        empty: o.empty,
        backupDir: o.from || o.empty ? undefined : backupDirOf(o.backupDir, process.env, dataDir),
        clusterSecretFile: clusterSecretFile(o.clusterSecretFile, process.env, dataDir),
        acceptUnsigned: o.acceptUnsigned,
      });
      process.stdout.write(
        r.skipped.map((why) => `skipped the newer backup ${why}\n`).join('') +
          `k3s datastore: ${r.from ? `from ${r.from}` : 'empty'}` +
          `${r.movedAside ? `; the old one is kept at ${r.movedAside}` : ''}\n` +
          `${r.tokensReissued} nodes get new k3s bootstrap tokens when they connect; start the hub: atoll-hub run --data-dir ${dataDir}\n`,
      );
    });
}
