// A test rig for the externalgrpc node groups (hub/autoscale/grpc/pool-groups.ts): a real SQLite
// store, event log, token service and provider hook (a shell script that logs its calls with start
// and end times; its create sleeps <dir>/create-sleep seconds and fails while <dir>/create-fails
// exists), a pool `batch` with autoscale on and nodes n1 and n2, and a removeNode that records and deletes the node's record.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { openSqliteStore } from '../../../hub/store/index.js';
import type { Store } from '../../../hub/store/types.js';
import { createEventLog } from '../../../hub/events.js';
import { createLogger } from '../../../hub/logger.js';
import { createTokenService } from '../../../hub/tokens/token-service.js';
import { DEFAULT_POOL_AUTOSCALE } from '../../../hub/store/pool-sizes.js';
import { ExternalDrive } from '../../../hub/autoscale/grpc/external-drive.js';
import { MachineHook } from '../../../hub/autoscale/grpc/machine-hook.js';
import { PoolGroups } from '../../../hub/autoscale/grpc/pool-groups.js';
import { poolBounds, poolOptions } from '../../../hub/autoscale/grpc/pool-bounds.js';
import { enrollInput, pool, tempDir, token } from '../store/helpers.js';

export interface GroupsRig {
  store: Store;
  dir: string;
  groups: PoolGroups;
  removed: string[];
  /** The hook's calls: `<action> <start ms> <end ms>`. */
  hookCalls: () => string[];
  hooks: Record<string, string | null>;
}

export const HOOK_SCRIPT = (dir: string): string => `#!/bin/sh
cat > /dev/null
start=$(date +%s%N)
case "$1" in
  capabilities) echo '{"ok":true,"actions":["create","delete"]}' ;;
  create) [ -e "${dir}/create-sleep" ] && sleep "$(cat "${dir}/create-sleep")"
    if [ -e "${dir}/create-fails" ]; then echo '{"ok":false,"message":"quota exceeded"}'; else echo '{"ok":true,"machineId":"vm-1"}'; fi ;;
  *) echo '{"ok":true}' ;;
esac
echo "$1 $start $(date +%s%N)" >> "${dir}/hook-calls"
`;

export async function groupsRig(t: TestContext, nodes = ['n1', 'n2']): Promise<GroupsRig> {
  const dir = tempDir(t);
  const store = await openSqliteStore({ path: join(dir, 'hub.db') });
  const logger = createLogger('silent');
  const events = createEventLog(store, logger);
  const hook = join(dir, 'hook.sh');
  writeFileSync(hook, HOOK_SCRIPT(dir));
  chmodSync(hook, 0o755);
  await store.createPool(
    pool('batch', { minSize: 1, maxSize: 20, autoscale: { ...DEFAULT_POOL_AUTOSCALE, enabled: true } }),
  );
  await store.createToken(token('tok', { pool: 'batch', maxUses: null }));
  for (const name of nodes) {
    const input = enrollInput('tok', `id-${name}`);
    input.node.pool = 'batch';
    input.node.name = name;
    assert.equal(await store.enroll(input), 'ok');
  }
  const hooks: Record<string, string | null> = { batch: hook };
  const removed: string[] = [];
  const groups = new PoolGroups({
    store,
    events,
    logger,
    drive: new ExternalDrive(store),
    hook: new MachineHook({
      tokens: createTokenService({ store, caPin: 'a'.repeat(64) }),
      events,
      publicUrl: 'https://127.0.0.1:1',
      caPem: '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----',
      hookOf: async (p) => hooks[p] ?? null,
    }),
    removeNode: async (id: string) => {
      removed.push(id);
      return store.deleteNode(id, new Date().toISOString());
    },
    bounds: poolBounds,
    options: poolOptions,
  });
  t.after(async () => {
    await groups.close(10_000);
    await store.close();
  });
  const hookCalls = (): string[] => {
    const f = join(dir, 'hook-calls');
    return existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n') : [];
  };
  return { store, dir, groups, removed, hookCalls, hooks };
}
