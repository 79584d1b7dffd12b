// The health history chart: inline SVG, no library. x is time over [since, now], y is 0-100 %;
// one line per series (cpu, memory, disk) with a dot per sample (a single sample is still visible).
export interface HealthSample {
  at: string;
  cpuPercent: number;
  memoryPercent: number;
  diskPercent: number;
}

const NS = 'http://www.w3.org/2000/svg';
const W = 760;
const H = 220;
const PAD = { left: 36, right: 12, top: 10, bottom: 24 };
const SERIES = [
  { key: 'cpuPercent', name: 'cpu' },
  { key: 'memoryPercent', name: 'memory' },
  { key: 'diskPercent', name: 'disk' },
] as const;

function svg(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

export function healthChart(samples: HealthSample[], sinceMs: number, nowMs: number): SVGElement {
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const span = Math.max(1, nowMs - sinceMs);
  const x = (ms: number): number => PAD.left + Math.max(0, Math.min(1, (ms - sinceMs) / span)) * plotW;
  const y = (pct: number): number => PAD.top + (1 - Math.max(0, Math.min(100, pct)) / 100) * plotH;
  const root = svg('svg', {
    id: 'health-chart',
    class: 'chart',
    viewBox: `0 0 ${W} ${H}`,
    role: 'img',
    'aria-label': 'cpu, memory and disk usage over time',
    'data-points': samples.length,
  });
  for (const pct of [0, 25, 50, 75, 100]) {
    root.append(svg('line', { class: 'grid', x1: PAD.left, x2: W - PAD.right, y1: y(pct), y2: y(pct) }));
    root.append(svg('text', { class: 'axis', x: PAD.left - 6, y: y(pct) + 4, 'text-anchor': 'end' }, `${pct}%`));
  }
  const minutes = Math.round(span / 60_000);
  for (let i = 0; i <= 4; i++) {
    const at = sinceMs + (span * i) / 4;
    const label = i === 4 ? 'now' : `-${Math.round(minutes - (minutes * i) / 4)}m`;
    root.append(
      svg(
        'text',
        { class: 'axis', x: x(at), y: H - 6, 'text-anchor': i === 0 ? 'start' : i === 4 ? 'end' : 'middle' },
        label,
      ),
    );
  }
  const points = samples
    .map((p) => ({ t: Date.parse(p.at), p }))
    .filter((q) => Number.isFinite(q.t))
    .sort((a, b) => a.t - b.t);
  for (const serie of SERIES) {
    const g = svg('g', { class: `series series-${serie.name}`, 'data-series': serie.name });
    if (points.length > 1)
      g.append(
        svg('polyline', {
          points: points.map((q) => `${x(q.t).toFixed(1)},${y(q.p[serie.key]).toFixed(1)}`).join(' '),
        }),
      );
    for (const q of points) {
      const dot = svg('circle', { cx: x(q.t).toFixed(1), cy: y(q.p[serie.key]).toFixed(1), r: 2.5 });
      dot.append(
        svg('title', {}, `${serie.name} ${q.p[serie.key].toFixed(1)}% at ${new Date(q.t).toLocaleTimeString()}`),
      );
      g.append(dot);
    }
    root.append(g);
  }
  return root;
}

export function chartLegend(): HTMLElement {
  const box = document.createElement('div');
  box.className = 'legend';
  for (const serie of SERIES) {
    const item = document.createElement('span');
    item.className = `key key-${serie.name}`;
    item.textContent = serie.name;
    box.append(item);
  }
  return box;
}
