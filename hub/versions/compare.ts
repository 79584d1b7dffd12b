// Version order, in one place: the agent's and Node's x.y.z[-pre] and k3s's vX.Y.Z[-rcN]+k3sN.

/** Orders x.y.z versions with an optional -prerelease: 0.1.0 < 0.1.1-rc1 < 0.1.1 < 0.10.0 (agent and Node.js versions). */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string): [number[], string] => {
    const [core, pre = ''] = v.split('-', 2);
    return [core.split('.').map(Number), pre];
  };
  const [ca, pa] = parse(a);
  const [cb, pb] = parse(b);
  for (let i = 0; i < 3; i++) if ((ca[i] ?? 0) !== (cb[i] ?? 0)) return (ca[i] ?? 0) - (cb[i] ?? 0);
  if (pa === pb) return 0;
  if (!pa) return 1;
  if (!pb) return -1;
  return pa.localeCompare(pb);
}

/** Orders v1.30.2+k3s1 < v1.30.10+k3s1 < v1.30.10+k3s2; release candidates before their release. */
export function compareK3sVersions(a: string, b: string): number {
  const parse = (v: string): number[] => {
    const m = /^v(\d+)\.(\d+)\.(\d+)(?:-rc(\d+))?\+k3s(\d+)$/.exec(v.replace(/-(?!rc)[0-9A-Za-z.-]+/, ''));
    if (!m) return [0, 0, 0, 0, 0];
    return [
      Number(m[1]),
      Number(m[2]),
      Number(m[3]),
      m[4] === undefined ? Number.MAX_SAFE_INTEGER : Number(m[4]),
      Number(m[5]),
    ];
  };
  const pa = parse(a);
  const pb = parse(b);
  for (let i = 0; i < pa.length; i++) if (pa[i] !== pb[i]) return pa[i] - pb[i];
  return 0;
}
