// What the hub reports about versions (GET /v1/cluster `upgrades`): the k3s upgrades its imported
// artifacts offer from the control plane's version, an end-of-support notice, and the agent versions
// across the fleet against the bundles the hub serves (skew). Reads only.
import type { Store } from '../store/types.js';
import type { ControlPlane } from '../k3s/control-plane.js';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { compareAgentVersions } from '../artifacts/agent-bundles.js';
import { classifyMove, compareK3sVersions, minorDistance, minorOf } from './versions.js';

/** The newest minors a release line is supported in (k3s follows upstream: three). */
const SUPPORTED_MINORS = 3;
/** The newest k3s minor this hub knows was released (for the end-of-support notice without imports). */
const KNOWN_LATEST_MINOR = 'v1.33';

export interface K3sVersionInfo {
  current: string | null;
  available: Array<{ version: string; kind: 'patch' | 'minor'; arches: string[] }>;
  endOfSupport: string | null;
}

export interface AgentVersionInfo {
  latest: string | null;
  available: string[];
  running: Array<{ version: string; nodes: number }>;
  skew: boolean;
  behind: number;
}

/** k3s: the control plane's version, the patch or next-minor upgrades imported, end of support. */
export function k3sVersionInfo(controlPlane: ControlPlane, artifacts: ArtifactStore): K3sVersionInfo {
  const current = controlPlane.version();
  const byVersion = new Map<string, string[]>();
  for (const a of artifacts.listK3s()) byVersion.set(a.version, [...(byVersion.get(a.version) ?? []), a.arch]);
  const available: K3sVersionInfo['available'] = [];
  if (current) {
    for (const [version, arches] of byVersion) {
      const move = classifyMove(current, version);
      if (move === 'patch' || move === 'minor') available.push({ version, kind: move, arches });
    }
  }
  let endOfSupport: string | null = null;
  if (current) {
    const newest = [...byVersion.keys(), `${KNOWN_LATEST_MINOR}.0+k3s1`].sort(compareK3sVersions).at(-1)!;
    const behind = minorDistance(current, newest);
    if (behind >= SUPPORTED_MINORS)
      endOfSupport = `k3s ${minorOf(current)} is older than the newest ${SUPPORTED_MINORS} minors (newest ${minorOf(newest)}): it is out of support; upgrade one minor at a time`;
  }
  return { current, available, endOfSupport };
}

/** Agents: what runs where, what the hub offers, and whether they differ (skew). */
export async function agentVersionInfo(store: Store, artifacts: ArtifactStore): Promise<AgentVersionInfo> {
  const available = artifacts.agents.list().map((b) => b.version);
  const latest = available.at(-1) ?? null;
  const counts = new Map<string, number>();
  for (const n of await store.listNodes()) counts.set(n.agentVersion, (counts.get(n.agentVersion) ?? 0) + 1);
  const running = [...counts]
    .map(([version, nodes]) => ({ version, nodes }))
    .sort((a, b) => compareAgentVersions(a.version, b.version));
  const behind = latest ? running.filter((x) => x.version !== latest).reduce((a, x) => a + x.nodes, 0) : 0;
  return { latest, available, running, skew: running.length > 1, behind };
}
