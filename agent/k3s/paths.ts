// Where the agent keeps k3s: all under its data dir, so an uninstall removes everything.
import { join } from 'node:path';

export interface K3sPaths {
  root: string;
  bin: string;
  previousBin: string;
  config: string;
  tokenFile: string;
  dataDir: string;
  assignment: string;
  log: string;
  pid: string;
}

export function k3sPaths(agentDataDir: string): K3sPaths {
  const root = join(agentDataDir, 'k3s');
  return {
    root,
    bin: join(root, 'bin', 'k3s'),
    previousBin: join(root, 'bin', 'k3s.prev'),
    config: join(root, 'config.yaml'),
    tokenFile: join(root, 'token'),
    dataDir: join(root, 'data'),
    assignment: join(root, 'assignment.json'),
    log: join(root, 'k3s-agent.log'),
    pid: join(root, 'k3s-agent.pid'),
  };
}
