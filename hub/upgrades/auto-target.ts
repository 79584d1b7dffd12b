// What the auto-upgrade policy upgrades to, as a pure function of the versions, the imported
// artifacts and the support status of the control plane's version (unit-tested with any date).
// - Past its end of life: the next minor, never skipping one, its newest imported artifact (the
//   policy's scope does not matter: an unsupported cluster must move on). Nodes still on an older
//   minor are caught up first, since a minor may only be left once every node has reached it.
// - Otherwise: the newest patch (or, with scope `minor`, patch or next minor), or nodes left behind
//   on the control plane's version are caught up.
import { classifyMove, compareK3sVersions, minorDistance, parseK3sVersion } from './versions.js';
import type { SupportStatus } from '../versions/support-status.js';

export interface AutoTargetInput {
  /** The control plane's version. */
  current: string;
  /** The lowest version of the control plane and the nodes. */
  lowest: string;
  scope: 'patch' | 'minor';
  /** Versions of the imported k3s artifacts. */
  available: readonly string[];
  /** Support status of the control plane's version now. */
  status: SupportStatus;
}

export interface AutoTarget {
  /** The version to roll out; undefined: nothing to do. */
  version?: string;
  reason?: 'end-of-life' | 'patch' | 'minor' | 'catch-up';
  /**
   * Set when the control plane is past its end of life: the minor it must move to and the artifact
   * chosen, or why none is (no artifact of that minor imported; nodes still on an older minor).
   */
  endOfLife?: { nextMinor: string; version: string | null; blockedBy?: 'no-artifact' | 'nodes-behind' };
}

/** "v1.32" after v1.31.4+k3s1. */
export function nextMinorOf(version: string): string | undefined {
  const p = parseK3sVersion(version);
  return p ? `v${p.major}.${p.minor + 1}` : undefined;
}

function routine(i: AutoTargetInput, versions: string[]): AutoTarget {
  const allowed: string[] = i.scope === 'minor' ? ['patch', 'minor'] : ['patch'];
  const candidates = versions.filter((v) => {
    const move = classifyMove(i.current, v);
    return allowed.includes(move) || (move === 'same' && compareK3sVersions(i.lowest, v) < 0);
  });
  const version = candidates.at(-1);
  if (!version) return {};
  const move = classifyMove(i.current, version);
  return { version, reason: move === 'same' ? 'catch-up' : (move as 'patch' | 'minor') };
}

export function chooseAutoTarget(i: AutoTargetInput): AutoTarget {
  const versions = [...new Set(i.available)].sort(compareK3sVersions);
  if (i.status !== 'end-of-life') return routine(i, versions);
  const nextMinor = nextMinorOf(i.current);
  if (!nextMinor) return routine(i, versions);
  // Nodes behind the control plane's minor: catch them up before the cluster leaves it.
  if (minorDistance(i.lowest, i.current) !== 0)
    return { ...routine(i, versions), endOfLife: { nextMinor, version: null, blockedBy: 'nodes-behind' } };
  const version = versions.filter((v) => classifyMove(i.current, v) === 'minor').at(-1);
  if (!version) return { ...routine(i, versions), endOfLife: { nextMinor, version: null, blockedBy: 'no-artifact' } };
  return { version, reason: 'end-of-life', endOfLife: { nextMinor, version } };
}
