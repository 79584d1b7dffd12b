// Maintenance windows: a weekday (or any day), a start hour and a length, in a time zone. A node's
// upgrade may only start inside the window; one already running finishes.
export const WINDOW_DAYS = ['any', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type WindowDay = (typeof WINDOW_DAYS)[number];

export interface MaintenanceWindow {
  day: WindowDay;
  startHour: number;
  durationHours: number;
  timeZone: string;
}

export const DEFAULT_WINDOW: MaintenanceWindow = Object.freeze({
  day: 'sun',
  startHour: 3,
  durationHours: 2,
  timeZone: 'UTC',
});

const WEEKDAY: Record<string, number> = { mon: 0, tue: 1, wed: 2, thu: 3, fri: 4, sat: 5, sun: 6 };

/** Minutes since Monday 00:00 in the window's time zone. */
function minuteOfWeek(now: Date, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(now);
  const get = (t: string): string => parts.find((p) => p.type === t)?.value ?? '0';
  const day = WEEKDAY[get('weekday').toLowerCase().slice(0, 3)] ?? 0;
  return day * 1440 + Number(get('hour')) * 60 + Number(get('minute'));
}

export function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Whether `now` is inside the window (windows may run past midnight and past Sunday). */
export function windowOpen(w: MaintenanceWindow, now: Date = new Date()): boolean {
  const week = 7 * 1440;
  const m = minuteOfWeek(now, w.timeZone);
  const length = Math.round(w.durationHours * 60);
  const starts =
    w.day === 'any'
      ? [0, 1, 2, 3, 4, 5, 6].map((d) => d * 1440 + w.startHour * 60)
      : [WEEKDAY[w.day] * 1440 + w.startHour * 60];
  return starts.some((s) => (((m - s) % week) + week) % week < length);
}
