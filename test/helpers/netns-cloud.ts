// A pretend cloud for autoscale end-to-end tests: an HTTP "provider API" in the root namespace (on
// the lab's bridge address) that makes a machine (a fresh network namespace host running a real
// atoll agent that joins with the token and hub URL of the cloud-init it was given) and deletes one
// (every process in its namespace killed, the namespace and its link removed). The pool's provider
// hook (writeCloudHook) is a shell script that forwards create and delete to it with curl, as a hook
// calling a real cloud's API would. Every machine and call is kept for the test to assert on.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostPids, type Host, type Lab } from './netns.js';
import { AGENT_BIN, startProcess, type Proc } from './processes.js';

export interface Machine {
  id: string;
  host: Host;
  nodeName: string;
  agent: Proc;
  deleted: boolean;
}

export interface Cloud {
  url: string;
  machines: Machine[];
  calls: Array<{ action: 'create' | 'delete'; machineId: string; atMs: number }>;
  /** Kills every process of every machine still up and removes their hosts (also after a failure). */
  destroyAll(): void;
  close(): Promise<void>;
}

const TOKEN_RE = /AT1[0-9a-f]{64}::[a-z0-9]{8}\.[a-z0-9]{32}/;
const HUB_RE = /"(https:\/\/[0-9.]+:\d+)"/;
const MAX_BODY = 256 * 1024;
const MAX_MACHINES = 10;

function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.length > MAX_BODY) req.destroy(new Error('body too large'));
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(text) as Record<string, unknown>);
      } catch (err) {
        reject(err as Error);
      }
    });
    req.on('error', reject);
  });
}

function killAll(host: Host): void {
  for (const pid of hostPids(host))
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
}

export async function startNetnsCloud(lab: Lab, dir: string, agentEnv: NodeJS.ProcessEnv): Promise<Cloud> {
  const machines: Machine[] = [];
  const calls: Cloud['calls'] = [];
  const destroy = (m: Machine): void => {
    if (m.deleted) return;
    m.deleted = true;
    killAll(m.host);
    lab.removeHost(m.host);
  };
  const create = (req: Record<string, unknown>): Record<string, unknown> => {
    const init = String(req.cloudInit ?? '');
    const token = TOKEN_RE.exec(init)?.[0];
    const hub = HUB_RE.exec(init)?.[1];
    if (!token || !hub) return { ok: false, message: 'the cloud-init has no join token or hub URL' };
    if (machines.length >= MAX_MACHINES) return { ok: false, message: 'machine quota reached (test cloud)' };
    const n = machines.length + 1;
    const id = `vm-${n}`;
    const host = lab.addHost(`m${n}`);
    const nodeName = `auto-${n}`;
    const args = ['join', '--hub', hub, '--token', token, '--node-name', nodeName];
    const agent = startProcess(AGENT_BIN, [...args, '--data-dir', join(dir, id)], agentEnv, [
      'ip',
      'netns',
      'exec',
      host.ns,
    ]);
    machines.push({ id, host, nodeName, agent, deleted: false });
    calls.push({ action: 'create', machineId: id, atMs: Date.now() });
    return { ok: true, message: `machine ${id} created`, machineId: id };
  };
  const remove = (req: Record<string, unknown>): Record<string, unknown> => {
    const id = String((req.node as { machineId?: unknown } | undefined)?.machineId ?? '');
    const m = machines.find((x) => x.id === id);
    calls.push({ action: 'delete', machineId: id, atMs: Date.now() });
    if (!m) return { ok: false, message: `no machine "${id}" in this cloud` };
    destroy(m);
    return { ok: true, message: `machine ${id} deleted` };
  };
  const server: Server = createServer((req, res) => {
    readBody(req)
      .then((body) => {
        const out = req.url === '/create' ? create(body) : req.url === '/delete' ? remove(body) : undefined;
        res.writeHead(out ? 200 : 404, { 'content-type': 'application/json' });
        res.end(JSON.stringify(out ?? { ok: false, message: 'unknown call' }));
      })
      .catch((err: Error) => {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: false, message: err.message }));
      });
  });
  await new Promise<void>((resolve) => server.listen(0, lab.gatewayIp, resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://${lab.gatewayIp}:${port}`,
    machines,
    calls,
    destroyAll() {
      for (const m of machines) destroy(m);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The pool's provider hook: capabilities answered here, create and delete sent to the cloud's API. */
export function writeCloudHook(dir: string, cloudUrl: string): string {
  const path = join(dir, 'cloud-hook.sh');
  writeFileSync(
    path,
    `#!/bin/sh
set -eu
case "$1" in
  capabilities) echo '{"ok": true, "message": "test cloud", "actions": ["create", "delete"]}' ;;
  create|delete)
    exec curl -sS --fail-with-body --max-time 60 -H 'Content-Type: application/json' --data-binary @- "${cloudUrl}/$1" ;;
  *) echo '{"ok": false, "message": "not supported by the test cloud"}' ;;
esac
`,
  );
  chmodSync(path, 0o755);
  return path;
}
