// Per-node k3s bootstrap tokens: `k3s token create --description atoll:<node-id>`, one per enrolled
// node, deleted again when the node is removed. The server's own long-lived token never leaves the hub.
import { execa } from 'execa';
import { AtollError } from '../../certs/atoll-error.js';

export interface NodeTokenTool {
  create(nodeId: string): Promise<{ id: string; token: string }>;
  remove(tokenId: string): Promise<void>;
}

const TOKEN_RE = /^(K10[0-9a-f]{64}::)?([a-z0-9]{6})\.([a-z0-9]{16})$/m;

export function parseCreatedToken(stdout: string): { id: string; token: string } {
  const line = stdout
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .find((l) => TOKEN_RE.test(l));
  const m = line ? TOKEN_RE.exec(line) : null;
  if (!line || !m) throw new AtollError('K3S_TOKEN_CREATE_FAILED', 'k3s token create printed no token');
  return { id: m[2], token: line };
}

export function createNodeTokenTool(opts: {
  binary: string;
  k3sDataDir: string;
  kubeconfig: string;
  ttl: string;
}): NodeTokenTool {
  const base = ['--data-dir', opts.k3sDataDir, '--kubeconfig', opts.kubeconfig];
  return {
    async create(nodeId) {
      const r = await execa(
        opts.binary,
        ['token', 'create', '--ttl', opts.ttl, '--description', `atoll:${nodeId}`, ...base],
        { reject: false, timeout: 30_000 },
      );
      // stdout is the secret: never put it in an error message.
      if (r.exitCode !== 0)
        throw new AtollError(
          'K3S_TOKEN_CREATE_FAILED',
          `k3s token create failed (exit ${r.exitCode}): ${String(r.stderr).slice(0, 300)}`,
        );
      return parseCreatedToken(String(r.stdout));
    },
    async remove(tokenId) {
      // urfave/cli stops parsing flags at the first argument: flags go before the id.
      const r = await execa(opts.binary, ['token', 'delete', ...base, tokenId], { reject: false, timeout: 30_000 });
      if (r.exitCode !== 0 && !/not found/i.test(String(r.stderr))) {
        throw new AtollError(
          'K3S_TOKEN_DELETE_FAILED',
          `k3s token delete ${tokenId} failed (exit ${r.exitCode}): ${String(r.stderr).slice(0, 300)}`,
        );
      }
    },
  };
}
