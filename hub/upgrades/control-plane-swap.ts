// Control plane first: swap the hub's own k3s server binary, restart it, and wait for its API to
// serve the new version for the dwell time; if it does not, put the old binary back and check that
// it serves again. Every phase is stored and recorded (upgrade.step, upgrade.control-plane-failed).
import type { EventLog } from '../events.js';
import type { ControlPlane } from '../k3s/control-plane.js';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { ManagedBinaryError } from '../k3s/managed-binary.js';
import { CP_FINAL, type ControlPlanePhase, type Rollout } from './rollout-state.js';
import type { RolloutRuntime } from './runtime.js';

export interface ControlPlaneSwapDeps {
  events: EventLog;
  controlPlane: ControlPlane;
  artifacts: ArtifactStore;
}

export class ControlPlaneSwap {
  constructor(
    private readonly d: ControlPlaneSwapDeps,
    private readonly rt: RolloutRuntime,
  ) {}

  /** Runs (or resumes) the control plane's part of `r`; it ends done or upgrade-failed. */
  async run(r: Rollout): Promise<void> {
    const cp = r.controlPlane!;
    if (cp.phase === 'rollback') return this.rollback(r, cp.message);
    if (cp.phase === 'pending' || cp.phase === 'swap') {
      if (this.d.controlPlane.version() !== r.version) {
        await this.phase(r, 'swap', `${cp.from} -> ${r.version}`);
        const art = this.d.artifacts.getK3s(r.version, this.d.controlPlane.arch());
        if (!art)
          return this.phase(
            r,
            'upgrade-failed',
            `no k3s ${r.version} artifact for ${this.d.controlPlane.arch()}; nothing was changed`,
          );
        try {
          await this.d.controlPlane.upgradeTo(art);
        } catch (err) {
          if (err instanceof ManagedBinaryError) return this.phase(r, 'upgrade-failed', err.message);
          return this.rollback(r, `the swap failed: ${(err as Error).message}`);
        }
      }
    }
    await this.phase(
      r,
      'verify',
      `API ready on ${r.version} for ${Math.round(r.dwellMs / 1000)}s within ${Math.round(r.verifyTimeoutMs / 1000)}s`,
    );
    const ok = await this.rt.waitUntil(this.serving(r.version), r.verifyTimeoutMs, r.dwellMs, () => this.fatal());
    if (ok !== true) return this.rollback(r, `verify failed: ${ok}`);
    await this.phase(r, 'done', `upgraded ${cp.from} -> ${r.version}`);
  }

  private async rollback(r: Rollout, reason: string): Promise<void> {
    const cp = r.controlPlane!;
    await this.phase(r, 'rollback', reason);
    if (this.d.controlPlane.version() !== cp.from) {
      try {
        await this.d.controlPlane.rollbackUpgrade();
      } catch (err) {
        return this.phase(r, 'upgrade-failed', `${reason}; the rollback failed: ${(err as Error).message}`);
      }
    }
    const back = await this.rt.waitUntil(this.serving(cp.from), r.verifyTimeoutMs, 0, () => this.fatal());
    await this.phase(
      r,
      'upgrade-failed',
      back === true
        ? `${reason}; restored k3s ${cp.from}, which serves again`
        : `${reason}; restored k3s ${cp.from}, but it is not serving (${back})`,
    );
  }

  private async phase(r: Rollout, phase: ControlPlanePhase, message: string): Promise<void> {
    const cp = r.controlPlane!;
    cp.phase = phase;
    cp.message = message;
    cp.startedAt ??= this.rt.now().toISOString();
    if (CP_FINAL.has(phase)) cp.finishedAt = this.rt.now().toISOString();
    await this.rt.save(r);
    await this.d.events.note({
      type: phase === 'upgrade-failed' ? 'upgrade.control-plane-failed' : 'upgrade.step',
      actor: 'hub',
      message: `control plane: ${phase}${message ? `: ${message}` : ''}`,
      data: { rolloutId: r.id, version: r.version, target: 'control-plane', phase },
    });
  }

  /** Whether the hub's k3s server serves `version`: running, kube API ready. */
  private serving(version: string): () => string | true {
    return () => {
      const info = this.d.controlPlane.info();
      if (this.d.controlPlane.version() !== version)
        return `k3s ${this.d.controlPlane.version() ?? 'none'} runs, not ${version}`;
      if (info.state !== 'running' || !this.d.controlPlane.client()) return `k3s server ${info.state}: ${info.message}`;
      return true;
    };
  }

  private fatal(): string | undefined {
    const info = this.d.controlPlane.info();
    return info.state === 'failed' ? `k3s server failed: ${info.message}` : undefined;
  }
}
