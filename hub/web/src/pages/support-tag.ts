// A k3s version's support status as a tag (supported / deprecated / end-of-life / unknown), with the
// dates in its title; from the API's `support` object (GET /v1/cluster, the node view's k3s.support).
import { el, s, type Obj } from '../dom.js';

const CLASS: Record<string, string> = {
  supported: 'state-ready',
  deprecated: 'state-degraded',
  'end-of-life': 'state-unreachable',
  unknown: 'state-joining',
};

/** null when there is no status; with `quiet`, null for a supported version too (tables). */
export function supportTag(sup: unknown, quiet = false): HTMLElement | null {
  const o = sup as Obj | null | undefined;
  const status = s(o?.status);
  if (!status || (quiet && status === 'supported')) return null;
  const title =
    status === 'unknown'
      ? 'not in the version support data'
      : `end of maintenance ${s(o?.endOfMaintenance)}, end of life ${s(o?.endOfLife)} (${s(o?.daysLeft)} days left)`;
  return el('span', { class: `state ${CLASS[status] ?? ''} support-tag`, title, 'data-support': status }, status);
}
