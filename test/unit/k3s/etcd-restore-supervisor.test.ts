// A pending etcd restore runs before the hub's k3s server starts, once: a restart of the control plane
// while the restore runs stops it (by pid, recorded in the pid file as the server's would be) and runs
// it again from the start, never two at once and never with a server beside it; the server starts only
// after a restore that finished, and the marker is gone then. A fake k3s (a shell script) stands in
// for the slow `k3s server --cluster-reset` of a large etcd.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { K3sSupervisor } from '../../../hub/k3s/supervisor.js';
import { applyPendingEtcdRestore, hasPendingEtcdRestore, markEtcdRestore } from '../../../hub/k3s/etcd-restore.js';
import { serverPidFile } from '../../../hub/k3s/server-pid.js';
import { createLogger } from '../../../hub/logger.js';
import { removeTree, waitFor } from '../../helpers/processes.js';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('a restart during an etcd restore stops it and runs it again; the server starts once, after it', async () => {
  const work = mkdtempSync(join(tmpdir(), 'atoll-etcd-restore-'));
  const k3sDir = join(work, 'k3s');
  const log = join(work, 'calls.log');
  const bin = join(work, 'k3s-fake');
  writeFileSync(
    bin,
    `#!/bin/sh
case "$*" in
  *--cluster-reset*)
    mkdir "${work}/resetting" 2>/dev/null || echo "CONCURRENT $$" >> "${log}"
    echo "reset-start $$" >> "${log}"
    trap 'kill $! 2>/dev/null; rmdir "${work}/resetting"; echo "reset-stopped $$" >> "${log}"; exit 143' TERM
    sleep 2 & wait $!
    rmdir "${work}/resetting"
    echo "reset-done $$" >> "${log}"
    exit 0;;
  *)
    [ -d "${work}/resetting" ] && echo "SERVER-DURING-RESET $$" >> "${log}"
    echo "server $$" >> "${log}"
    trap 'kill $! 2>/dev/null; exit 0' TERM
    sleep 60 & wait $!;;
esac
`,
  );
  chmodSync(bin, 0o755);
  mkdirSync(join(k3sDir, 'server', 'db', 'snapshots'), { recursive: true });
  const snapshot = join(k3sDir, 'server', 'db', 'snapshots', 'atoll-backup-etcd-snapshot');
  writeFileSync(snapshot, 'snapshot');
  markEtcdRestore(k3sDir, snapshot, 'test.atoll-backup');
  const logger = createLogger('silent');
  const args = ['server', '--data-dir', k3sDir];
  const sup = new K3sSupervisor({
    binary: bin,
    version: 'v1.31.4+k3s1',
    args,
    k3sDataDir: k3sDir,
    kubeconfigPath: join(work, 'kubeconfig.yaml'),
    httpsPort: 1, // nothing answers: the server stays `starting`, which is all this test needs
    logger,
    readyTimeoutMs: 1000,
    prepare: (signal) =>
      hasPendingEtcdRestore(k3sDir)
        ? applyPendingEtcdRestore({ binary: bin, args, k3sDir, logger, signal, pidFile: serverPidFile(k3sDir) })
        : undefined,
  });
  const lines = (): string[] => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []);
  try {
    sup.start();
    const first = await waitFor('the restore running', () => lines().find((l) => l.startsWith('reset-start')), 5000);
    const firstPid = Number(first.split(' ')[1]);
    assert.equal(
      Number(readFileSync(serverPidFile(k3sDir), 'utf8').trim().split(/\s/)[0]),
      firstPid,
      'the restore is in the pid file',
    );
    await sup.restart(); // an operator restarts the control plane mid-restore
    await waitFor('the server started', () => lines().some((l) => l.startsWith('server')), 10_000);
    const seen = lines().map((l) => l.split(' ')[0]);
    assert.deepEqual(seen, ['reset-start', 'reset-stopped', 'reset-start', 'reset-done', 'server'], lines().join('\n'));
    assert.ok(!alive(firstPid), 'the first restore was stopped');
    assert.ok(!hasPendingEtcdRestore(k3sDir), 'restored once: no marker left');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(lines().filter((l) => l.startsWith('server')).length, 1, 'one server');
  } finally {
    await sup.stop();
    removeTree(work);
  }
});
