// The provider hook's `create` and `delete` for the externalgrpc node groups: JSON on stdin, as for
// autoheal (hub/autoheal/hook.ts). `create` gets a #cloud-config that joins the new machine to the
// pool with a single-use token, and answers the machine id; `delete` gets the node (with that
// machine id) and deletes the machine.
import { renderCloudInit } from '../../installer/cloud-init-doc.js';
import { hookNode, runHook, type HookRequest, type HookResult } from '../../autoheal/hook.js';
import type { TokenService } from '../../tokens/token-service.js';
import type { EventLog } from '../../events.js';
import type { NodeRecord } from '../../store/types.js';
import { autoscaleHookProblem } from '../hook-support.js';
import { CallLimit } from './call-limit.js';

/** Provider hook processes the gRPC path runs at once (per hub); more wait their turn. */
export const HOOK_CONCURRENCY = 4;

/** How long a hook's `capabilities` answer is trusted (as the built-in autoscaler does). */
export const HOOK_CHECK_MS = 5 * 60_000;

export interface MachineHookDeps {
  tokens: TokenService;
  events: EventLog;
  publicUrl: string;
  caPem: string;
  /** The pool's provider hook (its autoheal settings), or null. */
  hookOf(pool: string): Promise<string | null>;
  timeoutMs?: number;
  now?: () => number;
}

export class MachineHook {
  /** pool -> the last `capabilities` check of its hook. */
  private readonly checks = new Map<string, { at: number; hook: string; problem: string | undefined }>();
  private readonly limit = new CallLimit(HOOK_CONCURRENCY);

  constructor(private readonly d: MachineHookDeps) {}

  async has(pool: string): Promise<boolean> {
    return Boolean(await this.d.hookOf(pool));
  }

  /** undefined when the pool's hook answers `capabilities` with create and delete, else why not (cached). */
  async problem(pool: string): Promise<string | undefined> {
    const hook = (await this.d.hookOf(pool)) ?? '';
    const now = (this.d.now ?? Date.now)();
    const cached = this.checks.get(pool);
    if (cached && cached.hook === hook && now - cached.at < HOOK_CHECK_MS) return cached.problem;
    const problem = await this.limit.run(() => autoscaleHookProblem(hook || null, pool));
    this.checks.set(pool, { at: now, hook, problem });
    return problem;
  }

  /** A join document for one new machine of the pool: a single-use token for an hour. */
  async joinDocument(pool: string, actor: string): Promise<{ doc: string; tokenId: string }> {
    const { record, token } = await this.d.tokens.create({
      pool,
      ttlMs: 3_600_000,
      maxUses: 1,
      description: 'cluster-autoscaler scale-up',
      actor,
    });
    await this.d.events.note({
      type: 'token.created',
      pool,
      actor,
      message: `single-use join token ${record.id} for a machine cluster-autoscaler asked for in pool ${pool}`,
      data: { tokenId: record.id },
    });
    const doc = renderCloudInit({
      hubUrl: this.d.publicUrl,
      caPem: this.d.caPem,
      token,
      tokenId: record.id,
      pool,
      expiresAt: record.expiresAt,
      labels: {},
    });
    return { doc, tokenId: record.id };
  }

  async create(pool: string, cloudInit: string): Promise<HookResult> {
    return this.run(pool, { action: 'create', pool, cloudInit });
  }

  async delete(
    pool: string,
    node: NodeRecord | undefined,
    ids: { id: string; name: string },
    machineId: string | null,
  ): Promise<HookResult> {
    return this.run(pool, { action: 'delete', pool, node: hookNode(node, ids, machineId, []) });
  }

  private async run(pool: string, req: HookRequest): Promise<HookResult> {
    const path = await this.d.hookOf(pool);
    if (!path) return { ok: false, message: `pool ${pool} has no provider hook` };
    return this.limit.run(() => runHook(path, req, this.d.timeoutMs));
  }
}
