// Where and when the agent dials the hub again after a lost link (hub-rotation.ts for the order, a
// capped, jittered backoff between full rounds, reconnect-timer.ts). Keeps hubs.json up to date
// from each welcome (hub-list.ts), so a hub that left the cluster leaves the list too.
import { cleanHubUrls } from '../proto/hub-urls.js';
import { readHubList, writeHubList } from './hub-list.js';
import { HubRotation } from './hub-rotation.js';
import { ReconnectTimer } from './reconnect-timer.js';
import type { Logger } from './logger.js';

/** Within a round the next hub is dialed after at most this (jittered, so agents do not stampede). */
const NEXT_HUB_MAX_MS = 250;

export class LinkFailover {
  private readonly rotation: HubRotation;
  private readonly retry: ReconnectTimer;
  private readonly random: () => number;
  private draining = false;

  constructor(
    private readonly o: {
      dataDir: string;
      registration: string;
      log: Logger;
      baseMs?: number;
      maxMs?: number;
      random?: () => number;
    },
  ) {
    this.random = o.random ?? Math.random;
    this.rotation = new HubRotation(o.registration, readHubList(o.dataDir, o.log), this.random);
    this.retry = new ReconnectTimer({ baseMs: o.baseMs, maxMs: o.maxMs, random: this.random });
  }

  /** The hub being dialed or connected to. */
  get hub(): string {
    return this.rotation.hub;
  }

  /** The hubs the last welcome named. */
  get known(): string[] {
    return this.rotation.known;
  }

  /** A welcome: the backoff starts over, its list of hubs (cleaned) replaces ours and hubs.json. */
  welcomed(hubs: unknown): void {
    this.retry.reset();
    this.draining = false;
    const { urls, dropped } = cleanHubUrls(hubs);
    if (dropped > 0) this.o.log.warn({ dropped }, 'the hub listed hubs that are not plain https URLs; ignored them');
    this.rotation.welcomed(urls);
    try {
      writeHubList(this.o.dataDir, urls);
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'could not store the list of hubs');
    }
  }

  /** The hub sent us away (draining, shutting down, cut off from its database): try the others first. */
  sentAway(): void {
    this.draining = true;
  }

  /** Dials `connect` on the next hub; the delay, or undefined when a dial is already pending. */
  schedule(connect: () => void, minDelayMs = 0): { delayMs: number; hub: string } | undefined {
    if (this.retry.pending) return undefined;
    const { url, newRound } = this.rotation.next(this.draining);
    this.draining = false;
    const delayMs = newRound
      ? this.retry.schedule(connect, minDelayMs)
      : this.retry.scheduleIn(connect, Math.max(minDelayMs, Math.round(this.random() * NEXT_HUB_MAX_MS)));
    return delayMs === undefined ? undefined : { delayMs, hub: url };
  }

  cancel(): void {
    this.retry.cancel();
  }
}
