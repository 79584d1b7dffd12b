// hub.json in the data dir: how admin commands find the running hub (hub/cli/api-client.ts reads it).
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface HubRuntime {
  apiUrl: string;
  gatewayUrl: string;
  gatewayPort: number;
}

/** Writes hub.json for this process; returns a function that removes it (at stop). */
export function writeRuntimeFile(dataDir: string, r: HubRuntime): () => void {
  const path = join(dataDir, 'hub.json');
  writeFileSync(
    path,
    JSON.stringify(
      {
        pid: process.pid,
        apiUrl: r.apiUrl,
        gatewayUrl: r.gatewayUrl,
        gatewayPort: r.gatewayPort,
        startedAt: new Date().toISOString(),
      },
      null,
      2,
    ) + '\n',
    { mode: 0o644 },
  );
  return () => rmSync(path, { force: true });
}
