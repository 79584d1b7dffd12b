// Cancel requests of rollouts, kept in the store so that every hub of a cluster sees them: a cancel
// made through a hub that does not lead the upgrades is stored there, and the leader's rollout loop
// reads it before its next step (and a leader that takes over later still honours it).
import type { Store } from '../store/types.js';

const key = (rolloutId: string): string => `upgrades.cancel.${rolloutId}`;

export class CancelRequests {
  constructor(
    private readonly store: Pick<Store, 'getSetting' | 'setSetting'>,
    /** The loop's set of ids to cancel (rollout-loop.ts takes an id out once the cancel took effect). */
    private readonly cancelled: Set<string>,
  ) {}

  /** Stores the request (unfenced: any hub may make it) and marks it here. */
  async request(rolloutId: string, actor: string): Promise<void> {
    await this.store.setSetting(key(rolloutId), { actor, at: new Date().toISOString() });
    this.cancelled.add(rolloutId);
  }

  /** Marks the rollout cancelled when a request for it is stored; a failed read changes nothing. */
  async refresh(rolloutId: string): Promise<void> {
    const req = await this.store.getSetting(key(rolloutId)).catch(() => undefined);
    if (req !== undefined) this.cancelled.add(rolloutId);
  }
}
