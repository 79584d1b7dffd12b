// The hub's time: liveness and ages on the monotonic clock; wall time held steady through a step of
// the hub's own clock until it settled (clock-watch.ts); agents' skew judged against the fleet
// (nodes/fleet-skew.ts). A step, and an offset that stays after it settled, are events.
import type { EventLog } from './events.js';
import type { Logger } from './logger.js';
import { systemClock } from './clock.js';
import { ClockWatch } from './clock-watch.js';
import { FleetSkew } from './nodes/fleet-skew.js';
import { signedDuration } from './autoheal/guard.js';
import { logFailure } from '../certs/log-failure.js';

export interface HubClock {
  clock: ClockWatch;
  fleetSkew: FleetSkew;
  /** Stops checking the clock (hub shutdown). */
  stop(): void;
}

export function startHubClock(o: { heartbeatIntervalMs: number; events: EventLog; logger: Logger }): HubClock {
  const { events, logger: log } = o;
  let fleetSkew: FleetSkew | undefined = undefined;
  const clock = new ClockWatch({
    clock: systemClock,
    settleMs: Math.max(120_000, 4 * o.heartbeatIntervalMs),
    onStep: (step, hold) => {
      log.warn({ offsetMs: step.offsetMs, hold }, "the hub's own clock stepped");
      events
        .note({
          type: 'hub.clock-step',
          actor: 'hub',
          message: `the hub's own clock stepped ${signedDuration(step.offsetMs)} (wall vs monotonic); autoheal holds and the hub keeps its time until ${hold.until}`,
          data: { offsetMs: step.offsetMs, netOffsetMs: hold.offsetMs, until: hold.until },
        })
        .catch(logFailure(log, 'noting a clock step'));
    },
    onSettled: (offsetMs) => {
      fleetSkew?.shift(offsetMs);
      if (Math.abs(offsetMs) >= 1000)
        events
          .note({
            type: 'hub.clock-step',
            actor: 'hub',
            message: `the hub's clock stayed ${signedDuration(offsetMs)} off its earlier time after settling; the hub follows it now`,
            data: { offsetMs, settled: true },
          })
          .catch(logFailure(log, 'noting a settled clock'));
    },
  });
  fleetSkew = new FleetSkew(clock);
  const timer = setInterval(() => clock.check(), 1000);
  timer.unref();
  return { clock, fleetSkew, stop: () => clearInterval(timer) };
}
