// Autoheal settings: per pool (timings, cap, hook), per cluster and per node (on/off, paused).
// Timings default to what Kapsule and Cluster API use; tests shorten them.
import { accessSync, constants, statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import type { Store } from '../store/types.js';
import { HubError } from '../errors.js';
import { parseDuration } from '../duration.js';

export interface PoolAutoheal {
  enabled: boolean;
  paused: boolean;
  afterRestart: string;
  afterReboot: string;
  afterReplace: string;
  maxUnhealthyPercent: number;
  /** Provider hook: an executable, JSON in on stdin, JSON out on stdout. */
  hook: string | null;
  drainTimeout: string;
  /** A replacement must be Ready within this, or the step failed. */
  replaceTimeout: string;
  /** Healthy this long after a step: the step is proven (pacing widens). */
  provenAfter: string;
  /** Healthy this long: the ladder count resets. */
  minHealthyPeriod: string;
  /** Cooldown after a failure, randomised between the two. */
  cooldownMin: string;
  cooldownMax: string;
}

export const DEFAULT_POOL_AUTOHEAL: PoolAutoheal = Object.freeze({
  enabled: true,
  paused: false,
  afterRestart: '5m',
  afterReboot: '15m',
  afterReplace: '30m',
  maxUnhealthyPercent: 40,
  hook: null,
  drainTimeout: '10m',
  replaceTimeout: '10m',
  provenAfter: '5m',
  minHealthyPeriod: '1h',
  cooldownMin: '1m',
  cooldownMax: '10m',
});

export interface Switch {
  enabled: boolean;
  paused: boolean;
}

const DURATION_FIELDS = [
  'afterRestart',
  'afterReboot',
  'afterReplace',
  'drainTimeout',
  'replaceTimeout',
  'provenAfter',
  'minHealthyPeriod',
  'cooldownMin',
  'cooldownMax',
] as const;

const durationField = { type: 'string', maxLength: 32 } as const;

export const poolAutohealSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    enabled: { type: 'boolean' },
    paused: { type: 'boolean' },
    maxUnhealthyPercent: { type: 'integer', minimum: 0, maximum: 100 },
    hook: { type: ['string', 'null'], maxLength: 4096 },
    ...(Object.fromEntries(DURATION_FIELDS.map((f) => [f, { ...durationField }])) as Record<
      (typeof DURATION_FIELDS)[number],
      typeof durationField
    >),
  },
} as const;

export function validatePoolAutoheal(s: PoolAutoheal): PoolAutoheal {
  for (const f of DURATION_FIELDS) {
    try {
      parseDuration(s[f]);
    } catch (err) {
      throw new HubError('VALIDATION', `autoheal.${f}: ${(err as Error).message}`);
    }
  }
  const ms = (f: (typeof DURATION_FIELDS)[number]): number => parseDuration(s[f]);
  if (!(ms('afterRestart') <= ms('afterReboot') && ms('afterReboot') <= ms('afterReplace'))) {
    throw new HubError('VALIDATION', 'autoheal: afterRestart <= afterReboot <= afterReplace');
  }
  if (ms('cooldownMin') > ms('cooldownMax'))
    throw new HubError('VALIDATION', 'autoheal: cooldownMin must not exceed cooldownMax');
  return s;
}

/**
 * How many unhealthy nodes of a pool autoheal may still repair: the cap's share of the pool, and at
 * least one (else a pool of 2 at 40 % could never be repaired); a cap of 0 repairs nothing.
 */
export function allowedUnhealthy(poolSize: number, maxUnhealthyPercent: number): number {
  if (poolSize <= 0 || maxUnhealthyPercent <= 0) return 0;
  return Math.max(1, Math.floor((maxUnhealthyPercent * poolSize) / 100));
}

/** A hook being set must be an absolute path to an executable file on the hub. */
export function checkHookPath(hook: string): void {
  if (!isAbsolute(hook))
    throw new HubError('VALIDATION', `autoheal.hook: "${hook}" must be an absolute path to an executable on the hub`);
  let st;
  try {
    st = statSync(hook);
  } catch {
    throw new HubError('VALIDATION', `autoheal.hook: ${hook} does not exist on the hub`);
  }
  if (!st.isFile()) throw new HubError('VALIDATION', `autoheal.hook: ${hook} is not a file`);
  try {
    accessSync(hook, constants.X_OK);
  } catch {
    throw new HubError('VALIDATION', `autoheal.hook: ${hook} is not executable by the hub (chmod +x ${hook})`);
  }
}

function withSwitch(s: Partial<Switch> | undefined): Switch {
  return { enabled: true, paused: false, ...s };
}

export class AutohealSettings {
  constructor(private readonly store: Store) {}

  async pool(name: string): Promise<PoolAutoheal> {
    return {
      ...DEFAULT_POOL_AUTOHEAL,
      ...((await this.store.getSetting<Partial<PoolAutoheal>>(`autoheal.pool.${name}`)) ?? {}),
    };
  }

  /** The settings a patch would give the pool; throws HubError VALIDATION when they are wrong. */
  async checkPool(name: string, patch: Partial<PoolAutoheal>): Promise<PoolAutoheal> {
    // Only a hook being set is checked: one that went missing later does not block other changes.
    if (typeof patch.hook === 'string') checkHookPath(patch.hook);
    return validatePoolAutoheal({ ...(await this.pool(name)), ...patch });
  }

  /** Each set is a compare-and-set (store.updateSetting): concurrent patches of one document both land. */
  async setPool(name: string, patch: Partial<PoolAutoheal>): Promise<PoolAutoheal> {
    if (typeof patch.hook === 'string') checkHookPath(patch.hook);
    const next = await this.store.updateSetting<Partial<PoolAutoheal>>(`autoheal.pool.${name}`, (cur) =>
      validatePoolAutoheal({ ...DEFAULT_POOL_AUTOHEAL, ...cur, ...patch }),
    );
    return next as PoolAutoheal;
  }

  async cluster(): Promise<Switch> {
    return withSwitch(await this.store.getSetting<Partial<Switch>>('autoheal.cluster'));
  }

  async setCluster(patch: Partial<Switch>): Promise<Switch> {
    return withSwitch(
      await this.store.updateSetting<Partial<Switch>>('autoheal.cluster', (cur) => ({ ...withSwitch(cur), ...patch })),
    );
  }

  async node(id: string): Promise<Switch> {
    return withSwitch(await this.store.getSetting<Partial<Switch>>(`autoheal.node.${id}.switch`));
  }

  /** The switches of many nodes in one store query (a tick over a pool, not a read per node). */
  async nodes(ids: readonly string[]): Promise<Map<string, Switch>> {
    const stored = await this.store.getSettings<Partial<Switch>>(ids.map((id) => `autoheal.node.${id}.switch`));
    return new Map(ids.map((id) => [id, withSwitch(stored.get(`autoheal.node.${id}.switch`))]));
  }

  async setNode(id: string, patch: Partial<Switch>): Promise<Switch> {
    return withSwitch(
      await this.store.updateSetting<Partial<Switch>>(`autoheal.node.${id}.switch`, (cur) => ({
        ...withSwitch(cur),
        ...patch,
      })),
    );
  }
}
