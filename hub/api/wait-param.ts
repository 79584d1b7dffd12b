// The ?wait= parameter of node actions: how long the request waits for the agent's result.
import { HubError } from '../errors.js';
import { parseDuration } from '../duration.js';

/** ?wait=: seconds, or a duration; 0 (in any unit) answers at once with 202. */
export function waitOf(text: string): number {
  if (/^[0-9]+$/.test(text)) return Number(text) * 1000;
  if (/^0+(ms|s|m)$/.test(text)) return 0;
  try {
    return parseDuration(text);
  } catch (err) {
    throw new HubError('VALIDATION', `wait: ${(err as Error).message}`);
  }
}
