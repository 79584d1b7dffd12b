// `k3s server --cluster-reset [--cluster-reset-restore-path FILE]` on embedded etcd: the member is
// reset to a cluster of one, from the snapshot when one is named (the old member is moved to
// server/db/etcd-old-<unix time>), server/db/reset-flag is written, and the server exits asking to be
// started again without the flag. The flag refuses a second reset until a normal start removes it.
import { existsSync, renameSync, rmSync } from 'node:fs';
import type { Logger } from '../util/log.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { ServerConfig } from './server-config.js';
import {
  etcdDir,
  etcdStatePath,
  readSnapshot,
  resetFlagPath,
  SnapshotError,
  encodeSnapshotState,
} from '../store/etcd-files.js';

const PREFIX = 'starting kubernetes: preparing server';

export function clusterReset(cfg: ServerConfig, log: Logger, now = new Date()): number {
  if (cfg.datastoreEndpoint) {
    log.fatal(`${PREFIX}: --cluster-reset is only supported with embedded etcd, not with --datastore-endpoint`);
    return 1;
  }
  const flag = resetFlagPath(cfg.dataDir);
  if (existsSync(flag)) {
    log.fatal(
      `${PREFIX}: cluster-reset was successfully performed, please remove the cluster-reset flag and start k3s normally, if you need to perform another cluster reset, you must first manually delete the ${flag} file`,
    );
    return 1;
  }
  const member = etcdDir(cfg.dataDir);
  if (cfg.clusterResetRestorePath) {
    let state;
    try {
      state = readSnapshot(cfg.clusterResetRestorePath);
    } catch (e) {
      if (!(e instanceof SnapshotError)) throw e;
      log.fatal(`${PREFIX}: start managed database: failed to restore snapshot: ${e.message}`);
      return 1;
    }
    if (existsSync(member)) {
      const old = `${member}-old-${Math.floor(now.getTime() / 1000)}`;
      renameSync(member, old);
      log.info(`Pre-restore etcd database moved to ${old}`);
    }
    try {
      writeFileAtomic(etcdStatePath(cfg.dataDir), encodeSnapshotState(state), 0o600);
    } catch (e) {
      rmSync(member, { recursive: true, force: true });
      log.fatal(`${PREFIX}: start managed database: failed to restore snapshot: ${(e as Error).message}`);
      return 1;
    }
    log.info(`etcd restored from snapshot ${cfg.clusterResetRestorePath}`);
  } else if (!existsSync(member)) {
    log.fatal(`${PREFIX}: cluster-reset: no managed etcd database found in ${member}`);
    return 1;
  }
  writeFileAtomic(flag, '', 0o600);
  log.info(
    `Managed etcd cluster membership has been reset, restart without --cluster-reset flag now. Backup and delete \${datadir}/server/db on each peer etcd server and rejoin the nodes`,
  );
  return 0;
}
