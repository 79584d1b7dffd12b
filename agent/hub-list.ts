// hubs.json in the agent's data dir: the live hubs' direct gateway URLs from the last welcome. It is
// replaced at every welcome (a hub that left the list disappears from it), written atomically (0644:
// no secret in it), and read at start; a damaged file is ignored with a log line, never a crash.
// The registration URL (identity.hubUrl) is not in it: it is always kept by the dial order itself.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writePublicFile } from '../certs/files.js';
import { cleanHubUrls } from '../proto/hub-urls.js';

export const HUB_LIST_FILE = 'hubs.json';
/** A larger file is not read: it cannot be one this agent wrote. */
const MAX_FILE_BYTES = 64 * 1024;

export interface HubListFile {
  updatedAt: string;
  hubs: string[];
}

/** The stored list (cleaned again: the file is input too); [] when absent or damaged. */
export function readHubList(dataDir: string, log: { warn(o: object, msg: string): void }): string[] {
  const path = join(dataDir, HUB_LIST_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      log.warn({ file: path, err: (err as Error).message }, 'cannot read the list of hubs; ignoring it');
    return [];
  }
  try {
    if (text.length > MAX_FILE_BYTES) throw new RangeError(`larger than ${MAX_FILE_BYTES} bytes`);
    const parsed = JSON.parse(text) as Partial<HubListFile> | null;
    if (!parsed || !Array.isArray(parsed.hubs)) throw new TypeError('no "hubs" list');
    return cleanHubUrls(parsed.hubs).urls;
  } catch (err) {
    log.warn({ file: path, err: (err as Error).message }, 'the list of hubs is damaged; ignoring it');
    return [];
  }
}

/** Replaces hubs.json with `hubs` (already cleaned). */
export function writeHubList(dataDir: string, hubs: string[], now = new Date()): void {
  const body: HubListFile = { updatedAt: now.toISOString(), hubs };
  writePublicFile(join(dataDir, HUB_LIST_FILE), JSON.stringify(body, null, 2) + '\n');
}

/**
 * The order to dial after a lost link: the hub it was on first (one quick retry) unless that hub
 * sent it away (draining), then the other listed hubs shuffled, then the registration URL last.
 */
export function dialOrder(
  current: string,
  listed: readonly string[],
  registration: string,
  opts: { draining?: boolean; random?: () => number } = {},
): string[] {
  const others = listed.filter((u) => u !== current && u !== registration);
  const random = opts.random ?? Math.random;
  for (let i = others.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [others[i], others[j]] = [others[j], others[i]];
  }
  const first = opts.draining ? [] : [current];
  // The registration URL closes every round; it opens one too when the agent was connected through it.
  if (others.length === 0 && current === registration) return [registration];
  return [...first, ...others, registration];
}
