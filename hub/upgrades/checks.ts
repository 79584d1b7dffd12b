// Refusals before anything changes, each with its own reason: a downgrade, a skipped minor, a kubelet
// that would be newer than the apiserver, a missing binary for some node's arch, a pool over its
// autoheal cap. Pure: the engine gathers the facts.
import { classifyMove, compareK3sVersions, minorDistance } from './versions.js';

export type RefusalCode =
  | 'DOWNGRADE'
  | 'MINOR_SKIP'
  | 'KUBELET_NEWER_THAN_APISERVER'
  | 'ARTIFACT_MISSING'
  | 'POOL_OVER_AUTOHEAL_CAP'
  | 'NO_CONTROL_PLANE';

export interface Refusal {
  code: RefusalCode;
  message: string;
  nodeId?: string;
  pool?: string;
}

export interface CheckNode {
  id: string;
  name: string;
  pool: string;
  arch: string;
  /** The k3s version it runs now (kubeletVersion, else the agent's report); '' when unknown. */
  version: string;
  unhealthy: boolean;
}

export interface CheckInput {
  target: string;
  /** The apiserver's version; null when no control plane runs. */
  controlPlaneVersion: string | null;
  /** Whether this rollout upgrades the control plane first (then the apiserver will run `target`). */
  controlPlaneFirst: boolean;
  /** The arch of the hub's k3s server (it needs an artifact too when it goes first). */
  controlPlaneArch?: string;
  nodes: CheckNode[];
  /** Arches the target artifact has a binary for. */
  artifactArches: ReadonlySet<string>;
  /** Autoheal cap (percent) per pool. */
  poolCaps: ReadonlyMap<string, number>;
}

export function preflightChecks(input: CheckInput): Refusal[] {
  const out: Refusal[] = [];
  const t = input.target;
  const cp = input.controlPlaneVersion;
  if (!cp) {
    out.push({ code: 'NO_CONTROL_PLANE', message: 'no control plane is running: nothing to upgrade against' });
    return out;
  }
  const versions = [cp, ...input.nodes.map((n) => n.version).filter(Boolean)];
  for (const v of new Set(versions)) {
    const move = classifyMove(v, t);
    const who =
      v === cp
        ? 'the control plane'
        : `node(s) ${input.nodes
            .filter((n) => n.version === v)
            .map((n) => n.name)
            .join(', ')}`;
    if (move === 'downgrade')
      out.push({ code: 'DOWNGRADE', message: `${t} is older than ${v} on ${who}: downgrades are refused` });
    else if (move === 'minor-skip')
      out.push({
        code: 'MINOR_SKIP',
        message: `${v} on ${who} to ${t} skips a minor version: upgrade one minor at a time`,
      });
  }
  const apiserver = input.controlPlaneFirst && compareK3sVersions(cp, t) < 0 ? t : cp;
  if (minorDistance(apiserver, t) > 0) {
    out.push({
      code: 'KUBELET_NEWER_THAN_APISERVER',
      message: `kubelets on ${t} would be newer than the apiserver on ${apiserver}: upgrade the control plane first`,
    });
  }
  const cpArch = input.controlPlaneFirst ? input.controlPlaneArch : undefined;
  for (const arch of new Set([...(cpArch ? [cpArch] : []), ...input.nodes.map((n) => n.arch)])) {
    if (!input.artifactArches.has(arch)) {
      const names = [
        ...(arch === cpArch ? ['the control plane'] : []),
        ...input.nodes.filter((n) => n.arch === arch).map((n) => n.name),
      ];
      out.push({
        code: 'ARTIFACT_MISSING',
        message: `no k3s ${t} artifact for ${arch} (needed by ${names.join(', ')}); import one with atoll-hub artifact import k3s --version ${t} --arch ${arch} --file F`,
      });
    }
  }
  const pools = new Map<string, CheckNode[]>();
  for (const n of input.nodes) pools.set(n.pool, [...(pools.get(n.pool) ?? []), n]);
  for (const [pool, members] of pools) {
    const cap = input.poolCaps.get(pool) ?? 100;
    const bad = members.filter((n) => n.unhealthy).length;
    const pct = members.length ? (bad / members.length) * 100 : 0;
    if (pct > cap)
      out.push({
        code: 'POOL_OVER_AUTOHEAL_CAP',
        pool,
        message: `${bad} of ${members.length} nodes in pool ${pool} are unhealthy, over its autoheal cap of ${cap}%: heal the pool first`,
      });
  }
  return out;
}
