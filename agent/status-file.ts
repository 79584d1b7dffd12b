// status.json in the data dir: what `atoll-agent status` shows about the running agent.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writePublicFile } from '../certs/files.js';
import type { LinkStatus } from './link-types.js';

export interface AgentStatusFile {
  pid: number;
  agentVersion: string;
  updatedAt: string;
  link: LinkStatus;
  k3s: { state: string; version: string };
}

export function writeStatus(dataDir: string, s: AgentStatusFile): void {
  writePublicFile(join(dataDir, 'status.json'), JSON.stringify(s, null, 2) + '\n');
}

export function readStatus(dataDir: string): AgentStatusFile | undefined {
  try {
    return JSON.parse(readFileSync(join(dataDir, 'status.json'), 'utf8')) as AgentStatusFile;
  } catch {
    return undefined;
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
