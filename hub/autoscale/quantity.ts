// Kubernetes resource quantities ("250m", "1.5", "512Mi", "2G", "1e3") as numbers: cpu in millicores,
// memory in bytes. A malformed or missing quantity counts as 0 (Kubernetes would have refused it).

const SUFFIX: Readonly<Record<string, number>> = Object.freeze({
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
});

const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/;

/** The quantity in base units; NaN when it is not one. */
export function parseQuantity(q: unknown): number {
  if (typeof q === 'number') return q;
  if (typeof q !== 'string' || q.length > 64) return NaN;
  const m = QUANTITY.exec(q.trim());
  if (!m) return NaN;
  return Number(m[1] + (m[2] ?? '')) * SUFFIX[m[3] ?? ''];
}

/** cpu and memory of a Kubernetes resource map: millicores and bytes. */
export interface Resources {
  cpu: number;
  memory: number;
}

export function resourcesOf(map: Record<string, unknown> | undefined | null): Resources {
  const cpu = parseQuantity(map?.cpu);
  const memory = parseQuantity(map?.memory);
  return {
    cpu: Number.isFinite(cpu) && cpu > 0 ? Math.ceil(cpu * 1000) : 0,
    memory: Number.isFinite(memory) && memory > 0 ? Math.ceil(memory) : 0,
  };
}

export const addResources = (a: Resources, b: Resources): Resources => ({
  cpu: a.cpu + b.cpu,
  memory: a.memory + b.memory,
});
