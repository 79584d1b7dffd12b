// The welcome's list of live hubs (Welcome.hubs): direct gateway URLs. Both sides pass it through
// cleanHubUrls: the hub so it never sends more than the bounds, the agent so it never trusts what
// it got blindly (an entry that is not a plain https URL, or too long, is dropped; duplicates too).

/** At most this many hubs in a welcome (more are dropped). */
export const MAX_HUB_URLS = 32;
/** At most this many characters per URL. */
export const MAX_HUB_URL_LENGTH = 256;

/** A plain https URL (no credentials, query or fragment), normalized without a trailing slash; undefined otherwise. */
export function cleanHubUrl(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_HUB_URL_LENGTH) return undefined;
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return undefined;
  }
  if (u.protocol !== 'https:' || !u.hostname || u.username || u.password || u.search || u.hash) return undefined;
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
}

/** The valid entries of `values`, deduplicated, in their order, at most MAX_HUB_URLS; `dropped` counts the rest. */
export function cleanHubUrls(values: unknown): { urls: string[]; dropped: number } {
  if (!Array.isArray(values)) return { urls: [], dropped: 0 };
  const urls: string[] = [];
  let dropped = 0;
  for (const v of values) {
    const url = cleanHubUrl(v);
    if (url === undefined || urls.includes(url) || urls.length >= MAX_HUB_URLS) dropped++;
    else urls.push(url);
  }
  return { urls, dropped };
}
