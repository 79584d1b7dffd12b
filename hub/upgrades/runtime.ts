// What every step of a rollout runs on: the injected clock (wall time for stamps and windows,
// monotonic time for waits and dwell), a sleep that ends when the engine stops, progress saved one
// write at a time, a node phase recorded with its event, and the kube client once the API serves.
import type { EventLog } from '../events.js';
import type { Logger } from '../logger.js';
import type { ControlPlane } from '../k3s/control-plane.js';
import type { KubeClient } from '../k3s/kube.js';
import type { Clock } from '../clock.js';
import { AtollError } from '../../certs/atoll-error.js';
import { FINAL_PHASES, type NodePhase, type NodeProgress, type Rollout, type RolloutStore } from './rollout-state.js';

/** Thrown out of a sleep once the engine stops: the rollout stays stored where it was and resumes later. */
export class Stopping extends AtollError<'STOPPING'> {
  constructor() {
    super('STOPPING', 'the upgrade engine is stopping');
    this.name = 'Stopping';
  }
}

/** A check a wait polls: true when it holds, else why not. */
export type Check = () => string | true | Promise<string | true>;

export interface RuntimeDeps {
  rollouts: RolloutStore;
  events: EventLog;
  logger: Logger;
  controlPlane: ControlPlane;
  clock: Clock;
  /** How time passes between polls (a timer; tests move a fake clock). */
  sleep: (ms: number) => Promise<void>;
  pollMs: number;
}

export class RolloutRuntime {
  private stopped = false;
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly d: RuntimeDeps) {}

  get pollMs(): number {
    return this.d.pollMs;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** No sleep goes on after this: running rollouts end at their next wait (Stopping). */
  stop(): void {
    this.stopped = true;
  }

  /** After stop(): rollouts may run again (this hub leads the upgrades again). */
  resume(): void {
    this.stopped = false;
  }

  /** Progress writes still under way (awaited at stop). */
  flushed(): Promise<void> {
    return this.saving;
  }

  now(): Date {
    return new Date(this.d.clock.now());
  }

  async sleep(ms: number): Promise<void> {
    if (this.stopped) throw new Stopping();
    await this.d.sleep(ms);
    if (this.stopped) throw new Stopping();
  }

  /** Stores the rollout after the writes before it (they never interleave). */
  save(r: Rollout): Promise<void> {
    this.saving = this.saving
      .then(() => this.d.rollouts.save(r))
      .catch((err: unknown) =>
        this.d.logger.error({ err: (err as Error).message }, 'could not store rollout progress'),
      );
    return this.saving;
  }

  /**
   * Waits until `ok` holds (continuously for `dwellMs`) or `limitMs` passes; returns the last reason on
   * failure. Measured on the monotonic clock: a step of the wall clock neither cuts nor stretches it.
   */
  async waitUntil(ok: Check, limitMs: number, dwellMs = 0, fatal?: () => string | undefined): Promise<true | string> {
    const mono = (): number => this.d.clock.mono();
    const deadline = mono() + limitMs;
    let since: number | undefined;
    for (;;) {
      const dead = fatal?.();
      if (dead) return dead;
      const v = await ok();
      if (v === true) {
        since ??= mono();
        if (mono() - since >= dwellMs) return true;
      } else {
        since = undefined;
        if (mono() > deadline) return v;
      }
      if (mono() > deadline + dwellMs) return 'did not stay healthy for the dwell time';
      await this.sleep(Math.min(this.pollMs, 250));
    }
  }

  /** Records a node's phase: stored, and an upgrade.step (upgrade.node-failed) event. */
  async nodePhase(r: Rollout, n: NodeProgress, phase: NodePhase, message: string): Promise<void> {
    n.phase = phase;
    n.message = message;
    n.startedAt ??= this.now().toISOString();
    if (FINAL_PHASES.has(phase)) n.finishedAt = this.now().toISOString();
    await this.save(r);
    await this.d.events.note({
      type: phase === 'upgrade-failed' ? 'upgrade.node-failed' : 'upgrade.step',
      nodeId: n.id,
      pool: n.pool,
      actor: 'hub',
      message: `${n.name}: ${phase}${message ? `: ${message}` : ''}`,
      data: { rolloutId: r.id, version: r.version, phase },
    });
  }

  /** The kube client, once the control plane serves (polls until then, or until the engine stops). */
  async kube(): Promise<KubeClient> {
    for (;;) {
      const k = this.d.controlPlane.client();
      if (k) return k;
      await this.sleep(this.pollMs);
    }
  }
}
