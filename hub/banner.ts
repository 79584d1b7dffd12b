// The first screen of `atoll-hub run`: where the dashboard is, how to log in, where agents connect,
// and a ready join line. Pure: main.ts writes it to stdout.
export interface BannerInput {
  hubVersion: string;
  apiUrl: string;
  /** The --api-listen host (loopback means: reachable from this machine only). */
  apiHost: string;
  adminTokenPath: string;
  dataDir: string;
  gatewayUrl: string;
  controlPlane: { state: string; message: string };
  /** A first join line (only while the hub has no nodes), or how to print one. */
  join: { command: string; expiresAt: string; ttlMinutes: number } | { nodes: number; hint: string };
  isRoot: boolean;
}

const LOOPBACK = /^(127\.|::1$|localhost$)/;

export function renderBanner(b: BannerInput): string {
  const port = new URL(b.apiUrl).port;
  const lines = [
    `atoll hub ${b.hubVersion} is running`,
    `  dashboard:     ${b.apiUrl}/`,
    `  log in with:   the admin token (${b.isRoot ? 'sudo ' : ''}cat ${b.adminTokenPath})`,
  ];
  if (LOOPBACK.test(b.apiHost)) {
    lines.push(
      `                 from another machine: ssh -L ${port}:${b.apiHost.includes(':') ? `[${b.apiHost}]` : b.apiHost}:${port} THIS-HOST, then https://localhost:${port}/ (or --api-listen 0.0.0.0:${port})`,
    );
  }
  lines.push(
    `  API:           ${b.apiUrl}`,
    `  admin token:   ${b.adminTokenPath}`,
    `  data dir:      ${b.dataDir}`,
    `  gateway:       ${b.gatewayUrl} (agents connect here)`,
    `  control plane: ${b.controlPlane.state} (${b.controlPlane.message})`,
  );
  if ('command' in b.join) {
    lines.push(
      `  join a first server to pool "default" (single use, expires in ${b.join.ttlMinutes} min, at ${b.join.expiresAt}):`,
      `    ${b.join.command}`,
    );
  } else {
    lines.push(
      `  nodes:         ${b.join.nodes}; to join another server, print a line with a fresh token:`,
      `    ${b.join.hint}`,
    );
  }
  return lines.join('\n') + '\n';
}
