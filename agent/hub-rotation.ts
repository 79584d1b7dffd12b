// Which hub the agent dials next. A lost link starts a round in dialOrder (hub-list.ts): the hub it
// was on, the other known hubs shuffled, the registration URL last. Within a round the next hub is
// tried at once; after a full round the caller backs off (capped, jittered) before the next round.
// A welcome ends the round: the hub that welcomed is the current one, and its list replaces ours.
import { dialOrder } from './hub-list.js';

export class HubRotation {
  private round: string[] = [];
  private current: string;
  private listed: string[];

  constructor(
    private readonly registration: string,
    listed: string[],
    private readonly random: () => number = Math.random,
  ) {
    this.current = registration;
    this.listed = listed;
  }

  /** The hub being dialed or connected to. */
  get hub(): string {
    return this.current;
  }

  /** The hubs known from the last welcome (or hubs.json). */
  get known(): string[] {
    return [...this.listed];
  }

  /** The hub at `url` welcomed us with `listed`: stay on it, forget the round. */
  welcomed(listed: string[]): void {
    this.listed = listed;
    this.round = [];
  }

  /**
   * The link to the current hub is gone: the next hub to dial, and whether a full round has just
   * ended (the caller backs off then). `draining`: the hub sent us away, try the others first.
   */
  next(draining = false): { url: string; newRound: boolean } {
    let newRound = false;
    if (this.round.length === 0) {
      this.round = dialOrder(this.current, this.listed, this.registration, { draining, random: this.random });
      newRound = true;
    } else if (draining) {
      this.round = this.round.filter((u) => u !== this.current || u === this.registration);
      if (this.round.length === 0) this.round = [this.registration];
    }
    const url = this.round.shift() as string;
    this.current = url;
    return { url, newRound };
  }
}
