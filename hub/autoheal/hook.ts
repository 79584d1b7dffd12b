// The pool's provider hook: an executable the operator configures. JSON in on stdin, JSON out on
// stdout: {"ok": true, "message": "...", "machineId": "..."}. Bounded in time and output. Actions:
// reboot and replace (autoheal: a node), create (a new machine for the pool from `cloudInit`; no
// node; answers the new machineId) and delete (the machine of `node`, by its machineId) for node
// lifespan and autoscaling.
//
// What the hook gets to pick a machine by is only what the hub knows for itself: the node's id and
// name, its pool, the machine id this hook returned when it created the node, and the addresses the
// hub saw the node's connections come from. What the node says about itself (host facts, labels) is
// passed under `reported` and must never decide which machine the hook reboots or deletes: a sick
// or compromised node could name another machine there.
import { runHookProcess } from './hook-process.js';
import type { NodeRecord } from '../store/types.js';

export interface HookNode {
  id: string;
  name: string;
  /** The machine id this hook returned when its `replace` created the node; null when unknown. */
  machineId: string | null;
  /** Source addresses the hub itself saw for this node (agent connections, the join), newest first. */
  observedAddresses: string[];
  /** Self-reported by the node's agent; not verified by the hub. */
  reported: { hostname: string; addresses: string[]; labels: Record<string, string> };
}

/**
 * What the hub asks of the hook (the action is also its first argument):
 * - reboot, replace: a node (replace also gets the #cloud-config of its replacement);
 * - create: a new machine of the pool that joins with `cloudInit`; answers its `machineId`;
 * - delete: the machine of `node` (node.machineId is the id its create answered);
 * - capabilities: answers `actions`, the actions it implements. Autoscale needs create and delete:
 *   a hook that fails this action, or does not list both, is refused for autoscale.
 */
export type HookRequest =
  | { action: 'reboot' | 'replace'; pool: string; node: HookNode; cloudInit?: string }
  | { action: 'create'; pool: string; cloudInit: string }
  | { action: 'delete'; pool: string; node: HookNode }
  | { action: 'capabilities'; pool: string };

export type HookAction = HookRequest['action'];

export interface HookResult {
  ok: boolean;
  message: string;
  machineId?: string;
  /** For capabilities: the actions the hook implements. */
  actions?: string[];
}

const MAX_MACHINE_ID = 256;
const MAX_ADDRESSES = 8;

/** An address as a socket reports it, without the IPv4-mapped IPv6 prefix. */
export function plainAddress(a: string): string {
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

/** The hook's view of a node: hub-observed identity first, the node's own claims under `reported`. */
export function hookNode(
  node: NodeRecord | undefined,
  ids: { id: string; name: string },
  machineId: string | null,
  observed: ReadonlyArray<string | null | undefined>,
): HookNode {
  const seen = [...new Set(observed.filter((a): a is string => Boolean(a) && a !== 'unknown').map(plainAddress))].slice(
    0,
    MAX_ADDRESSES,
  );
  return {
    id: ids.id,
    name: ids.name,
    machineId,
    observedAddresses: seen,
    reported: {
      hostname: node?.facts.hostname ?? '',
      addresses: node?.facts.addresses ?? [],
      labels: node?.labels ?? {},
    },
  };
}

/** Join tokens a hook's message may echo (the cloud-init it was given): never stored in events. */
const TOKEN_LIKE =
  /\b(AT1[0-9a-f]{64}::[a-z0-9]{8}\.[a-z0-9]+|K10[0-9a-f]{64}::[a-z0-9.:]+|atoll_api_[0-9a-f]{12}_[a-z0-9]+)/g;

export function redactHookText(s: string): string {
  return s.replace(TOKEN_LIKE, '[redacted]');
}

export async function runHook(path: string, req: HookRequest, timeoutMs = 120_000): Promise<HookResult> {
  const r = await runHookProcess(path, [req.action], JSON.stringify(req), { timeoutMs, maxBuffer: 1024 * 1024 });
  if (r.timedOut)
    return { ok: false, message: `hook ${path} timed out after ${timeoutMs} ms (its process group was stopped)` };
  if (r.overflow) return { ok: false, message: `hook ${path} printed more than 1 MiB; stopped` };
  if (r.exitCode !== 0)
    return {
      ok: false,
      message: `hook ${path} exited ${r.exitCode ?? r.signal}: ${redactHookText(r.stderr.slice(0, 300))}`,
    };
  try {
    const out = JSON.parse(r.stdout) as Partial<HookResult>;
    const machineId =
      out.machineId === undefined || out.machineId === null
        ? undefined
        : String(out.machineId).slice(0, MAX_MACHINE_ID);
    const actions = Array.isArray(out.actions)
      ? out.actions.slice(0, 32).map((a) => String(a).slice(0, 64))
      : undefined;
    return {
      // Only an explicit {"ok": true} is success: `{}` or a truncated answer is not.
      ok: out.ok === true,
      message: redactHookText(String(out.message ?? '').slice(0, 1000)),
      machineId: machineId || undefined,
      ...(actions ? { actions } : {}),
    };
  } catch {
    return { ok: false, message: `hook ${path} printed no JSON: ${redactHookText(r.stdout.slice(0, 200))}` };
  }
}
