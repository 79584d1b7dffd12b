// Whether a pool's provider hook can make and remove machines: it answers the `capabilities` action
// with {"ok": true, "actions": [..., "create", "delete"]}. Anything else (no hook, a failure, no
// JSON, a list without both) means no, with the reason in words.
import { runHook } from '../autoheal/hook.js';

export const CAPABILITIES_TIMEOUT_MS = 10_000;

/** undefined when the hook supports autoscale, else why not. */
export async function autoscaleHookProblem(hook: string | null, pool: string): Promise<string | undefined> {
  if (!hook)
    return `pool ${pool} has no provider hook (set one with --hook): autoscale creates and deletes machines through it`;
  const r = await runHook(hook, { action: 'capabilities', pool }, CAPABILITIES_TIMEOUT_MS);
  if (!r.ok) return `the provider hook of pool ${pool} does not answer "capabilities": ${r.message}`;
  const missing = ['create', 'delete'].filter((a) => !r.actions?.includes(a));
  if (missing.length > 0)
    return `the provider hook of pool ${pool} does not support ${missing.join(' and ')} (its capabilities: ${(r.actions ?? []).join(', ') || 'none'})`;
  return undefined;
}
