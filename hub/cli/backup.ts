// atoll-hub backup create | list, and atoll-hub restore FILE --data-dir D (hub/backup/). They work on
// the data dir's files (a running hub beside them is fine for create and list) and leave an audit
// event in the store: backup.created in the hub's, backup.restored in the restored one.
import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { defaultDataDir } from '../config.js';
import { clusterSecretFile } from '../config-values.js';
import { parseDatastore } from '../store/datastore-url.js';
import { createBackup, defaultArchiveName, shownDatastore } from '../backup/create.js';
import { BACKUP_DIR_HELP, backupDirOf } from '../backup/backup-config.js';
import { listBackups } from '../backup/list.js';
import { restoreBackup } from '../backup/restore.js';
import type { RestoredCredentials } from '../store/sqlite-backup.js';
import { readPassphraseFile } from '../backup/passphrase.js';
import { recordAdminEvent } from '../backup/audit.js';
import { parseOutput, printJson, printRows } from './output.js';

interface RestoreFlags {
  dataDir: string;
  passphraseFile?: string;
  clusterSecretFile?: string;
  acceptUnsigned?: boolean;
}

interface Globals {
  dataDir?: string;
  output?: string;
}

const dataDirOf = (g: Globals): string => resolve(g.dataDir ?? defaultDataDir(process.env, process.getuid?.() === 0));

function size(bytes: number): string {
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
  if (bytes >= 1 << 10) return `${(bytes / (1 << 10)).toFixed(1)} KiB`;
  return `${bytes} B`;
}

function credentialLines(c: RestoredCredentials): string {
  const tokens = c.apiTokens.map((t) => `  ${t.id} ${t.role} ${JSON.stringify(t.description)} (made ${t.createdAt})\n`);
  return (
    `join tokens outstanding at the backup: ${c.joinTokensRevoked.length} revoked (make new ones with atoll-hub token create)\n` +
    (tokens.length
      ? `API tokens back in force (revoke any you revoked after the backup: atoll-hub api-token revoke ID):\n${tokens.join('')}`
      : 'API tokens back in force: none\n')
  );
}

export function registerBackupCommands(program: Command): void {
  const backup = program
    .command('backup')
    .description('backups of the hub: its store, the CA sealed in it, and the k3s datastore');
  backup
    .command('create')
    .description('write one consistent backup archive (safe beside a running hub)')
    .option('--out <file>', 'the archive to write (default <backup-dir>/atoll-<time>.atoll-backup)')
    .option('--backup-dir <dir>', BACKUP_DIR_HELP)
    .option(
      '--passphrase-file <file>',
      'seal the cluster secret (which opens the CA) into the archive with this passphrase',
    )
    .option(
      '--datastore <url>',
      'postgres://... when the hub runs on PostgreSQL (env ATOLL_DATASTORE; default <data-dir>/hub.db)',
    )
    .option(
      '--cluster-secret-file <path>',
      'the cluster secret (env ATOLL_CLUSTER_SECRET_FILE; default <data-dir>/cluster-secret)',
    )
    .option(
      '--k3s <path>',
      "the k3s binary, for `k3s etcd-snapshot save` when the hub's k3s runs embedded etcd (env ATOLL_K3S; default: PATH, then <data-dir>/k3s/bin/k3s)",
    )
    .action(
      async (
        o: {
          out?: string;
          backupDir?: string;
          passphraseFile?: string;
          datastore?: string;
          clusterSecretFile?: string;
          k3s?: string;
        },
        cmd: Command,
      ) => {
        const g = cmd.optsWithGlobals<Globals>();
        const dataDir = dataDirOf(g);
        const datastore = parseDatastore(o.datastore ?? process.env.ATOLL_DATASTORE, dataDir);
        const secretFile = clusterSecretFile(o.clusterSecretFile, process.env, dataDir);
        const passphrase = o.passphraseFile ? readPassphraseFile(resolve(o.passphraseFile)) : undefined;
        const now = new Date();
        const out = o.out
          ? resolve(o.out)
          : join(backupDirOf(o.backupDir, process.env, dataDir), defaultArchiveName(now));
        const r = await createBackup({
          dataDir,
          datastore,
          clusterSecretFile: secretFile,
          passphrase,
          out,
          now,
          k3s: o.k3s ?? process.env.ATOLL_K3S,
        });
        await recordAdminEvent(datastore, {
          type: 'backup.created',
          actor: 'admin',
          message: `atoll-hub backup create: ${r.path} (${r.bytes} bytes)${r.warnings.map((w) => `; ${w}`).join('')}`,
          data: {
            file: r.path,
            bytes: r.bytes,
            ms: r.ms,
            secrets: r.manifest.secrets,
            createdAt: r.manifest.createdAt,
            incomplete: r.manifest.incomplete ?? null,
          },
        });
        for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
        if (parseOutput(g.output) === 'json') return printJson({ ...r, manifest: r.manifest });
        process.stdout.write(
          `wrote ${r.path} (${size(r.bytes)} in ${(r.ms / 1000).toFixed(1)} s): the hub store from ${shownDatastore(datastore)}, CA pin ${r.manifest.caPin ?? 'none'}\n` +
            `k3s datastore: ${r.manifest.k3s.note}\n` +
            (passphrase !== undefined
              ? 'the cluster secret is sealed in the archive with the passphrase: keep the passphrase apart from it\n'
              : `the cluster secret is NOT in the archive: keep ${secretFile} safe apart from it; a restore needs it (atoll-hub restore --cluster-secret-file), or the CA cannot be opened\n`),
        );
      },
    );
  backup
    .command('list')
    .description('the archives in the backup dir (<data-dir>/backups unless given), newest first')
    .option('--backup-dir <dir>', BACKUP_DIR_HELP)
    .action(async (o: { backupDir?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<Globals>();
      const rows = await listBackups(backupDirOf(o.backupDir, process.env, dataDirOf(g)));
      const format = parseOutput(g.output);
      if (format === 'json') return printJson({ items: rows });
      printRows<(typeof rows)[number]>(
        [
          { header: 'NAME', value: (b) => b.name },
          { header: 'CREATED', value: (b) => b.createdAt },
          { header: 'SIZE', value: (b) => size(b.bytes) },
          {
            header: 'ATOLL',
            value: (b) =>
              b.problem !== null
                ? `DAMAGED: ${b.problem}`
                : `${b.atollVersion ?? ''}${b.incomplete !== null ? ` INCOMPLETE: ${b.incomplete}` : ''}`,
          },
        ],
        rows,
        format,
      );
    });

  program
    .command('restore')
    .argument('<file>', 'the backup archive (atoll-hub backup create)')
    .description(
      'make a new data dir from a backup archive; then `atoll-hub run --data-dir D` comes back with the same CA',
    )
    .requiredOption('--data-dir <dir>', 'the new data dir (must be missing or empty)')
    .option('--passphrase-file <file>', 'opens the cluster secret sealed in the archive')
    .option(
      '--cluster-secret-file <path>',
      'for an archive without the cluster secret: the file to put in the data dir (it checks the signature)',
    )
    .option('--accept-unsigned', 'restore an archive whose signature cannot be checked (older format, no secret)')
    .action((file: string, o: RestoreFlags) => {
      const r = restoreBackup({
        file: resolve(file),
        dataDir: o.dataDir,
        passphrase: o.passphraseFile ? readPassphraseFile(resolve(o.passphraseFile)) : undefined,
        clusterSecretFile: o.clusterSecretFile,
        acceptUnsigned: o.acceptUnsigned,
      });
      const m = r.manifest;
      process.stdout.write(
        `restored ${resolve(file)} (made ${m.createdAt} by atoll ${m.atollVersion}, CA pin ${m.caPin ?? 'none'}) into ${r.dataDir}\n` +
          `k3s datastore: ${m.k3s.kind === 'none' ? `not in the archive (${m.k3s.note})` : m.k3s.kind === 'etcd-snapshot' ? 'restored (an etcd snapshot: k3s restores it when the hub first starts it)' : 'restored'}\n` +
          (r.k3sKeys === 'missing'
            ? 'k3s server token and CAs: NOT restored (they open with the cluster secret, which this restore was not given): k3s would start as a new cluster to the nodes\n'
            : r.k3sKeys > 0
              ? `k3s server token and CAs: restored (${r.k3sKeys} files)\n`
              : '') +
          (r.clusterSecret === 'missing'
            ? `the cluster secret is not in the archive: copy the hub's cluster-secret file to ${r.dataDir}/cluster-secret (0600) or start with --cluster-secret-file\n`
            : `the cluster secret is in place (${r.clusterSecret === 'archive' ? 'from the archive' : 'copied'})\n`) +
          (m.datastore === 'postgres'
            ? `the store was PostgreSQL: it is restored as ${r.dataDir}/hub.db; move it back with atoll-hub datastore copy\n`
            : '') +
          credentialLines(r.credentials) +
          `admin token: a new one is made at the first start (${r.dataDir}/admin-token); the one of the backup is not brought back (it may have been rotated since)\n` +
          `next: atoll-hub run --data-dir ${r.dataDir} (agents reconnect with their certificates)\n`,
      );
    });
}
