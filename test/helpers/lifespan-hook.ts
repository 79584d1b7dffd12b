// A provider hook script for the node lifespan tests, written to a test's own folder. `create`
// starts a real agent (after `delay` seconds, in the background) that joins with the token and hub
// URL of the cloud-init it was given, or fails when `failCreate`; `delete` answers ok. Every call
// is logged as "<action> <epoch ns>" to <dir>/hook-calls, and each request saved as <action>-request.json.
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AGENT_BIN } from './processes.js';

export interface HookScript {
  path: string;
  /** The logged calls: action and time (ms). */
  calls(): Array<{ action: string; atMs: number }>;
  request(action: string): Record<string, unknown>;
  /** Kills the agents it started (by pid). */
  killStarted(): void;
}

export function writeLifespanHook(
  dir: string,
  opts: { delay?: number; failCreate?: boolean; maxCreates?: number; noAgent?: boolean },
): HookScript {
  const path = join(dir, 'hook.sh');
  const create = opts.failCreate
    ? `echo "no capacity in this zone (test)" >&2; exit 3`
    : `n=$(grep -c '^create' "${dir}/hook-calls" || true)
    if [ "$n" -gt ${opts.maxCreates ?? 1} ]; then echo '{"ok": false, "message": "machine quota reached (test)"}'; exit 0; fi
    token=$(printf '%s' "$req" | grep -o 'AT1[0-9a-f]\\{64\\}::[a-z0-9]\\{8\\}\\.[a-z0-9]\\{32\\}' | head -n1)
    hub=$(printf '%s' "$req" | grep -o 'https://127\\.0\\.0\\.1:[0-9]*' | head -n1)
    ${opts.noAgent ? 'true ||' : ''} nohup sh -c "sleep ${opts.delay ?? 0}; exec '${process.execPath}' '${AGENT_BIN}' join --hub $hub --token $token --k3s off --node-name replacement-$n --data-dir '${dir}/machine-$n'" > "${dir}/machine-$n.log" 2>&1 &
    echo $! >> "${dir}/started.pids"
    echo "{\\"ok\\": true, \\"message\\": \\"machine created\\", \\"machineId\\": \\"vm-$n\\"}"`;
  writeFileSync(
    path,
    `#!/bin/sh
set -eu
req=$(cat)
echo "$1 $(date +%s%N)" >> "${dir}/hook-calls"
printf '%s' "$req" > "${dir}/$1-request.json"
case "$1" in
  create)
    ${create} ;;
  delete) echo '{"ok": true, "message": "machine deleted"}' ;;
  *) echo '{"ok": false, "message": "unexpected action"}' ;;
esac
`,
  );
  chmodSync(path, 0o755);
  return {
    path,
    calls() {
      const f = join(dir, 'hook-calls');
      if (!existsSync(f)) return [];
      return readFileSync(f, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const [action, ns] = l.split(' ');
          return { action, atMs: Number(BigInt(ns) / 1_000_000n) };
        });
    },
    request: (action) =>
      JSON.parse(readFileSync(join(dir, `${action}-request.json`), 'utf8')) as Record<string, unknown>,
    killStarted() {
      const f = join(dir, 'started.pids');
      if (!existsSync(f)) return;
      for (const pid of readFileSync(f, 'utf8').trim().split('\n').filter(Boolean))
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
    },
  };
}
