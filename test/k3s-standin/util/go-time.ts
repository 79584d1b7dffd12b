// Time formats Go programs print: RFC3339 in local time (logrus, `k3s token list`) and the
// Kubernetes wire format (RFC3339, UTC, whole seconds).

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** Go's time.RFC3339 for a local time, e.g. 2024-12-13T10:00:00+01:00 or ...Z when the zone is UTC. */
export function rfc3339Local(d: Date): string {
  const off = -d.getTimezoneOffset();
  const zone =
    off === 0 ? 'Z' : `${off > 0 ? '+' : '-'}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${zone}`;
}

/** metav1.Time on the wire: 2024-12-13T09:00:00Z. */
export function kubeTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
