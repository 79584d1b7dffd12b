// client-go leader election on a coordination.k8s.io Lease in kube-system, as kube-controller-manager
// and kube-scheduler use it when several servers share a datastore: only the holder runs the
// controllers; another server takes over when the holder has not renewed for the lease duration
// (15 s, judged by when this server last saw the lease change, not by clocks), trying every 2 s.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { findType } from '../store/resource-types.js';
import type { ResourceService } from '../api/resource-service.js';
import { ApiError } from '../api/api-error.js';
import type { KubeObject } from '../store/kube-object.js';
import type { Logger } from '../util/log.js';

const LEASES = findType('coordination.k8s.io', 'v1', 'leases');

export interface ElectionOptions {
  readonly name: string;
  readonly leaseSeconds?: number;
  readonly retryMs?: number;
  readonly renewDeadlineMs?: number;
  /** Starts the work; returns how to stop it. */
  readonly run: () => () => void;
}

const microTime = (d: Date): string => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export function startLeaderElection(svc: ResourceService, log: Logger, o: ElectionOptions): () => void {
  if (!LEASES) throw new Error('leases type missing');
  const leases = LEASES;
  const identity = `${hostname()}_${randomUUID()}`;
  const leaseSeconds = o.leaseSeconds ?? 15;
  const renewDeadlineMs = o.renewDeadlineMs ?? 10_000;
  let stopWork: (() => void) | undefined;
  let lastRenew = 0;
  let observed = { rv: '', at: 0 };

  const lead = (): void => {
    lastRenew = Date.now();
    if (stopWork) return;
    log.info(`successfully acquired lease kube-system/${o.name}`);
    stopWork = o.run();
  };
  const lose = (why: string): void => {
    if (!stopWork) return;
    log.error(`leaderelection lost for ${o.name}: ${why}`);
    stopWork();
    stopWork = undefined;
  };
  const spec = (current: KubeObject | undefined, now: Date, acquiring: boolean): Record<string, unknown> => {
    const prev = (current?.spec ?? {}) as Record<string, unknown>;
    return {
      holderIdentity: identity,
      leaseDurationSeconds: leaseSeconds,
      acquireTime: acquiring ? microTime(now) : prev.acquireTime,
      renewTime: microTime(now),
      leaseTransitions: Number(prev.leaseTransitions ?? 0) + (acquiring && current ? 1 : 0),
    };
  };

  const tick = (): void => {
    const now = new Date();
    const current = svc.find(leases, 'kube-system', o.name);
    if (!current) {
      svc.create(leases, 'kube-system', { metadata: { name: o.name }, spec: spec(undefined, now, true) });
      lead();
      return;
    }
    if (current.metadata.resourceVersion !== observed.rv)
      observed = { rv: String(current.metadata.resourceVersion), at: now.getTime() };
    const holder = (current.spec as Record<string, unknown> | undefined)?.holderIdentity;
    const mine = holder === identity;
    if (!mine && holder && observed.at + leaseSeconds * 1000 > now.getTime()) {
      lose(`lease is held by ${String(holder)}`);
      return;
    }
    // renew ours, or take over an expired one; the resourceVersion makes two takers collide
    svc.update(leases, 'kube-system', o.name, {
      ...current,
      spec: spec(current, now, !mine),
    });
    lead();
  };

  const timer = setInterval(() => {
    try {
      tick();
    } catch (e) {
      if (e instanceof ApiError && e.status.code === 409) lose('the lease was taken over');
      else if (stopWork && Date.now() - lastRenew > renewDeadlineMs) lose((e as Error).message);
    }
  }, o.retryMs ?? 2000);
  try {
    tick();
  } catch {
    // the next try comes with the timer
  }
  return () => {
    clearInterval(timer);
    stopWork?.();
    stopWork = undefined;
  };
}
