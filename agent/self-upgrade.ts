// Agent self-upgrade, for an installed agent (a bundle such as /usr/local/lib/atoll-agent/atoll-agent.mjs
// run by the installer's wrapper under a service manager that restarts it):
//   1. download the bundle from the hub over mTLS, check its SHA-256, check it runs and says it is
//      the version asked for (`node new --version`);
//   2. write `upgrade-pending` beside the bundle (from, to, deadline), keep the running bundle as
//      atoll-agent.mjs.previous, rename the new one into place (each step a rename);
//   3. exit with EXIT_UPGRADE so the service manager starts the new version.
// The new version confirms once it reaches the hub (the marker goes). If it has not by the deadline,
// it puts the previous bundle back and exits; a bundle that cannot even run is put back by the
// wrapper, which checks the marker's deadline before every start. Either way the old version comes
// back by itself, and leaves `upgrade-last.json` saying what happened.
import {
  copyFileSync,
  existsSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  accessSync,
  constants,
  chmodSync,
} from 'node:fs';
import { writePublicFile } from '../certs/files.js';
import { AtollError } from '../certs/atoll-error.js';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import type { Identity } from './identity.js';
import type { Logger } from './logger.js';
import { download, sha256Of } from './k3s/installer.js';

/** Exit code of an agent that swapped in a new bundle (or put the old one back): start me again. */
export const EXIT_UPGRADE = 10;
export const PENDING_FILE = 'upgrade-pending';
export const ROLLED_BACK_FILE = 'upgrade-rolled-back';
export const RESULT_FILE = 'upgrade-last.json';

export type SelfUpgradeErrorCode =
  | 'SELF_UPGRADE_UNSUPPORTED'
  | 'ARTIFACT_CHECKSUM'
  | 'AGENT_BUNDLE_INVALID'
  | 'ARTIFACT_DOWNLOAD';

export class SelfUpgradeError extends AtollError<SelfUpgradeErrorCode> {
  constructor(code: SelfUpgradeErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = 'SelfUpgradeError';
  }
}

export interface PendingUpgrade {
  from: string;
  to: string;
  /** Unix seconds. */
  deadline: number;
}

export interface UpgradeResult {
  result: 'upgraded' | 'rolled-back';
  from: string;
  to: string;
  at: string;
  reason?: string;
}

/** The installed bundle this process runs, or undefined when it runs from a source tree. */
export function installedBundle(argv1 = process.argv[1]): string | undefined {
  if (!argv1) return undefined;
  try {
    const path = realpathSync(argv1);
    // A build output (dist/artifacts/agent, with its manifest) is not an install: leave it alone.
    if (!path.endsWith('.mjs') || existsSync(join(dirname(path), 'manifest.json'))) return undefined;
    accessSync(dirname(path), constants.W_OK);
    return path;
  } catch {
    return undefined;
  }
}

export function readPending(dir: string): PendingUpgrade | undefined {
  try {
    const text = readFileSync(join(dir, PENDING_FILE), 'utf8');
    const get = (k: string): string => new RegExp(`^ATOLL_UPGRADE_${k}=(\\S*)$`, 'm').exec(text)?.[1] ?? '';
    return { from: get('FROM'), to: get('TO'), deadline: Number(get('DEADLINE')) || 0 };
  } catch {
    return undefined;
  }
}

export function readLastResult(dir: string): UpgradeResult | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, RESULT_FILE), 'utf8')) as UpgradeResult;
  } catch {
    return undefined;
  }
}

export interface StageOptions {
  identity: Identity;
  bundle: string;
  currentVersion: string;
  version: string;
  urlPath: string;
  sha256: string;
  /** How long the new version has to reach the hub. */
  confirmWithinMs: number;
  nodeBin?: string;
}

/** Steps 1 and 2: afterwards the new bundle is in place and the caller exits with EXIT_UPGRADE. */
export async function stageUpgrade(o: StageOptions): Promise<void> {
  const dir = dirname(o.bundle);
  const next = join(dir, `.atoll-agent.${o.version}.new.mjs`);
  rmSync(next, { force: true });
  try {
    await download(o.identity, o.urlPath, next).catch((err: Error) => {
      throw new SelfUpgradeError('ARTIFACT_DOWNLOAD', err.message);
    });
    const got = await sha256Of(next);
    if (got !== o.sha256)
      throw new SelfUpgradeError(
        'ARTIFACT_CHECKSUM',
        `agent bundle ${o.version} has SHA-256 ${got}, expected ${o.sha256}`,
      );
    chmodSync(next, 0o644);
    const said = await execa(o.nodeBin ?? process.execPath, [next, '--version'], {
      reject: false,
      timeout: 30_000,
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    if (said.exitCode !== 0 || String(said.stdout).trim() !== o.version) {
      throw new SelfUpgradeError(
        'AGENT_BUNDLE_INVALID',
        `agent bundle ${o.version} does not run as ${o.version} (--version: ${
          String(said.stdout || said.stderr)
            .trim()
            .slice(0, 200) || `exit ${said.exitCode}`
        })`,
      );
    }
    const deadline = Math.ceil((Date.now() + o.confirmWithinMs) / 1000);
    writePublicFile(
      join(dir, PENDING_FILE),
      `ATOLL_UPGRADE_FROM=${o.currentVersion}\nATOLL_UPGRADE_TO=${o.version}\nATOLL_UPGRADE_DEADLINE=${deadline}\n`,
    );
    rmSync(join(dir, ROLLED_BACK_FILE), { force: true });
    const keep = `${o.bundle}.previous`;
    copyFileSync(o.bundle, `${keep}.tmp`);
    renameSync(`${keep}.tmp`, keep);
    renameSync(next, o.bundle);
  } finally {
    rmSync(next, { force: true });
  }
}

/** Puts the previous bundle back (the new one did not reach the hub in time). */
export function rollBack(bundle: string, reason: string): void {
  const dir = dirname(bundle);
  const pending = readPending(dir);
  const keep = `${bundle}.previous`;
  if (existsSync(keep)) renameSync(keep, bundle);
  rmSync(join(dir, PENDING_FILE), { force: true });
  writePublicFile(
    join(dir, RESULT_FILE),
    JSON.stringify({
      result: 'rolled-back',
      from: pending?.from ?? '',
      to: pending?.to ?? '',
      at: new Date().toISOString(),
      reason,
    } satisfies UpgradeResult),
  );
}

export interface StartupCheck {
  /** Set when this process is the new version on trial: confirm() once connected. */
  trial?: { pending: PendingUpgrade; timer: NodeJS.Timeout; confirm(): void };
  /** What the last upgrade did, when it finished since the last start (for the log and status). */
  last?: UpgradeResult;
}

/**
 * At start: a new version on trial arms its deadline (`onRollback` runs after the old bundle is
 * back); an old version started after a rollback by the wrapper records that result.
 */
export function checkAtStartup(
  bundle: string | undefined,
  version: string,
  logger: Logger,
  onRollback: () => void,
  now = Date.now(),
): StartupCheck {
  if (!bundle) return {};
  const dir = dirname(bundle);
  const rolledBack = join(dir, ROLLED_BACK_FILE);
  if (existsSync(rolledBack)) {
    const text = readFileSync(rolledBack, 'utf8');
    const to = /^ATOLL_UPGRADE_TO=(\S*)$/m.exec(text)?.[1] ?? '';
    const from = /^ATOLL_UPGRADE_FROM=(\S*)$/m.exec(text)?.[1] ?? version;
    const last: UpgradeResult = {
      result: 'rolled-back',
      from,
      to,
      at: new Date(now).toISOString(),
      reason: `agent ${to} did not reach the hub before its deadline; the wrapper put ${from} back`,
    };
    writePublicFile(join(dir, RESULT_FILE), JSON.stringify(last));
    rmSync(rolledBack, { force: true });
    logger.warn(last, 'agent self-upgrade was rolled back');
    return { last };
  }
  const pending = readPending(dir);
  if (!pending) return { last: undefined };
  if (pending.to !== version) {
    // An old version with a marker left over (e.g. a manual reinstall): the upgrade is not ours to judge.
    rmSync(join(dir, PENDING_FILE), { force: true });
    return {};
  }
  const left = Math.max(0, pending.deadline * 1000 - now);
  logger.info(
    { from: pending.from, to: pending.to, confirmWithinMs: left },
    'running a new agent version on trial: it must reach the hub in time',
  );
  let settled = false;
  const timer = setTimeout(() => {
    if (settled) return;
    settled = true;
    const reason = `agent ${pending.to} did not reach the hub within its deadline; back to ${pending.from}`;
    logger.error({ from: pending.from, to: pending.to }, reason);
    rollBack(bundle, reason);
    onRollback();
  }, left);
  return {
    trial: {
      pending,
      timer,
      confirm() {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        rmSync(join(dir, PENDING_FILE), { force: true });
        const last: UpgradeResult = {
          result: 'upgraded',
          from: pending.from,
          to: pending.to,
          at: new Date().toISOString(),
        };
        writePublicFile(join(dir, RESULT_FILE), JSON.stringify(last));
        logger.info(last, 'agent self-upgrade confirmed: connected to the hub');
      },
    },
  };
}
