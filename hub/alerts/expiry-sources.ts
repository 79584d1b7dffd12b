// Alert sources over dates: certificates expiring within a week (each node's current one, the hub's
// serving certificate, the hub CA itself) and k3s versions near or past their end of life.
import { X509Certificate } from 'node:crypto';
import type { Store } from '../store/types.js';
import type { NodeSnapshot } from '../nodes/registry.js';
import type { VersionSupport } from '../versions/support-status.js';
import type { NodeSupportGroup } from '../versions/support-watch.js';
import { capped, relative, type AlertInput, type AlertSeverity, type AlertSource } from './alert-source.js';

export const CERT_ALERT_WITHIN_MS = 7 * 86_400_000;
/** Within this, or expired: critical. */
const CERT_CRITICAL_MS = 86_400_000;

function certSeverity(leftMs: number): AlertSeverity {
  return leftMs <= CERT_CRITICAL_MS ? 'critical' : 'warning';
}

/** The expiry of a PEM certificate (ms); NaN when unreadable. */
export function pemNotAfter(pem: string): number {
  try {
    return Date.parse(new X509Certificate(pem).validTo);
  } catch {
    return Number.NaN;
  }
}

export interface CertSourceDeps {
  store: Pick<Store, 'listExpiringCerts'>;
  nodeOf: (id: string) => Pick<NodeSnapshot, 'name' | 'pool'> | undefined;
  /** The hub's CA and serving certificates (PEM): alerts within CERT_ALERT_WITHIN_MS. */
  caPem: string;
  servingPem: string;
  /** Node certificates: alerts within this (--cert-warn-before: 7 days, or a quarter of short lifetimes). */
  nodeWithinMs: number;
}

export function certificateSource(d: CertSourceDeps): AlertSource {
  const hubCerts = [
    {
      id: 'cert-expiring:ca',
      notAfter: pemNotAfter(d.caPem),
      what: 'the hub CA',
      fix: 'every node certificate chains to it: plan its rotation now (deploy/README.md, "The hub CA")',
    },
    {
      id: 'cert-expiring:serving',
      notAfter: pemNotAfter(d.servingPem),
      what: "the hub's serving certificate",
      fix: 'restart the hub: it re-issues the certificate for the same key (install lines keep their pin)',
    },
  ];
  return {
    name: 'certificates',
    async collect(nowMs) {
      const out: AlertInput[] = [];
      for (const c of hubCerts) {
        const left = c.notAfter - nowMs;
        if (!(left <= CERT_ALERT_WITHIN_MS)) continue;
        out.push({
          id: c.id,
          severity: certSeverity(left),
          message: `${c.what} ${left > 0 ? 'expires' : 'expired'} ${relative(left)} (${new Date(c.notAfter).toISOString()}): ${c.fix}`,
          link: '#/cluster',
        });
      }
      const before = new Date(nowMs + d.nodeWithinMs).toISOString();
      const nodes: AlertInput[] = [];
      for (const c of await d.store.listExpiringCerts(before, 1000)) {
        const n = d.nodeOf(c.nodeId);
        if (!n) continue;
        const left = Date.parse(c.notAfter) - nowMs;
        nodes.push({
          id: `cert-expiring:node:${c.nodeId}`,
          severity: certSeverity(left),
          message: `client certificate of node ${n.name} (pool ${n.pool}) ${left > 0 ? 'expires' : 'expired'} ${relative(left)} and has not been renewed`,
          link: `#/node/${encodeURIComponent(c.nodeId)}`,
        });
      }
      return [
        ...out,
        ...capped('cert-expiring', nodes, (more) => ({
          severity: 'warning',
          message: `and ${more} more node certificate${more === 1 ? '' : 's'} expiring within 7 days`,
          link: '#/nodes',
        })),
      ];
    },
  };
}

export interface VersionSourceDeps {
  /** The control plane's version and its support; null when not known. */
  controlPlane: () => { version: string; support: VersionSupport } | null;
  nodeGroups: () => NodeSupportGroup[];
}

function versionAlert(
  id: string,
  what: string,
  s: { status: string; endOfLife: string | null; daysLeft: number | null },
) {
  if (s.status === 'end-of-life')
    return {
      id,
      severity: 'critical' as const,
      message: `${what} is past its end of life (${s.endOfLife}): no more fixes; upgrade to the next minor`,
      link: '#/upgrades',
    };
  if (s.status === 'deprecated')
    return {
      id,
      severity: 'warning' as const,
      message: `${what} reaches its end of life on ${s.endOfLife} (in ${s.daysLeft} day${s.daysLeft === 1 ? '' : 's'}): upgrade to the next minor`,
      link: '#/upgrades',
    };
  if (s.status === 'unknown')
    return {
      id,
      severity: 'info' as const,
      message: `${what} is not in the version support data: import newer data (atoll-hub versions import FILE)`,
      link: '#/upgrades',
    };
  return undefined;
}

export function versionSource(d: VersionSourceDeps): AlertSource {
  return {
    name: 'versions',
    collect() {
      const out: AlertInput[] = [];
      const cp = d.controlPlane();
      const cpAlert =
        cp && versionAlert('version-support:control-plane', `control plane k3s ${cp.version}`, cp.support);
      if (cpAlert) out.push(cpAlert);
      for (const g of d.nodeGroups()) {
        const what = `k3s ${g.minor ?? '(unparsable version)'} on ${g.count} node${g.count === 1 ? '' : 's'}`;
        const a = versionAlert(`version-support:nodes:${g.minor ?? 'unknown'}`, what, g);
        if (a) out.push({ ...a, link: '#/nodes' });
      }
      return out;
    },
  };
}
