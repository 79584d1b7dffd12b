// The line an operator pastes on a new server. curl checks the hub before sh runs a byte of what it
// downloads: --pinnedpubkey names the hub's serving key (kept across certificate renewals, see
// hub/pki/hub-pki.ts), so a machine in the middle, or another server on that address, cannot serve
// its own script. --insecure only skips the system CA store, which does not know the hub's own CA;
// the pin is the check. -S shows curl's error (wrong port, wrong key) although -s hides progress.
import { AtollError } from '../../certs/atoll-error.js';

/** The pinned curl-pipe line for a hub URL, its serving key pin (sha256//base64) and a token. */
export function installLine(publicUrl: string, servingPin: string, token: string): string {
  return `${installFetch(publicUrl, servingPin)} | sudo sh -s - --token ${token}`;
}

/** The curl half: fetches install.sh from the hub only when its serving key matches the pin. */
export function installFetch(publicUrl: string, servingPin: string): string {
  if (!/^sha256\/\/[A-Za-z0-9+/]{43}=$/.test(servingPin))
    throw new AtollError('SERVING_PIN_MALFORMED', `not a serving key pin: ${servingPin}`);
  return `curl -sSfL --pinnedpubkey '${servingPin}' --insecure ${publicUrl.replace(/\/+$/, '')}/install.sh`;
}
