// The k3s binary a control-plane upgrade installs: <data-dir>/k3s/bin/k3s, with the one it replaced
// kept as k3s.previous (or, when the hub ran a binary from elsewhere, that path remembered in
// control-plane.json). Every step is a rename, so a crash leaves either the old or the new binary
// in place, never half of one. A managed binary newer than the one --k3s names wins at start: an
// upgrade survives a hub restart without the operator editing flags.
import { copyFileSync, chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { writePublicFile } from '../../certs/files.js';
import { AtollError } from '../../certs/atoll-error.js';
import { dirname, join } from 'node:path';
import { dataDirBinary, probeBinary, type K3sBinary } from './binary.js';
import { compareK3sVersions } from '../versions/compare.js';
import { sha256File } from '../artifacts/hash.js';

export interface ManagedState {
  /** The version the managed binary runs. */
  version: string;
  /** What runs again on a rollback: the kept copy (k3s.previous) or the external path it replaced. */
  previous: { path: string; version: string; kept: boolean } | null;
}

export class ManagedBinaryError extends AtollError<'CP_ARTIFACT_INVALID' | 'CP_NO_PREVIOUS'> {
  constructor(code: 'CP_ARTIFACT_INVALID' | 'CP_NO_PREVIOUS', message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = 'ManagedBinaryError';
  }
}

function statePath(dataDir: string): string {
  return join(dirname(dataDirBinary(dataDir)), 'control-plane.json');
}

export function readManagedState(dataDir: string): ManagedState | undefined {
  try {
    return JSON.parse(readFileSync(statePath(dataDir), 'utf8')) as ManagedState;
  } catch {
    return undefined;
  }
}

/**
 * Which binary to run: the one --k3s resolves to, unless a control-plane upgrade installed a newer
 * one in the data dir. `note` says why the managed one was chosen (for the log).
 */
export async function preferManaged(
  configured: K3sBinary,
  dataDir: string,
): Promise<{ binary: K3sBinary; note?: string }> {
  if (configured.kind === 'off') return { binary: configured };
  const state = readManagedState(dataDir);
  const path = dataDirBinary(dataDir);
  if (!state || !existsSync(path)) return { binary: configured };
  if (configured.kind === 'found' && configured.path === path) return { binary: configured };
  const managed = await probeBinary(path);
  if (managed.kind !== 'found') return { binary: configured };
  if (configured.kind === 'found' && compareK3sVersions(managed.version, configured.version) < 0)
    return { binary: configured };
  return {
    binary: managed,
    note: `running k3s ${managed.version} from ${path}, installed by a control-plane upgrade${configured.kind === 'found' ? ` (newer than ${configured.version} at ${configured.path})` : ''}`,
  };
}

/**
 * Installs `artifact` (checked against `sha256` and `version`) as the managed binary, keeping what
 * runs now for a rollback. Throws CP_ARTIFACT_INVALID with nothing changed when the check fails.
 */
export async function installManaged(
  dataDir: string,
  current: { path: string; version: string },
  artifact: string,
  sha256: string,
  version: string,
): Promise<ManagedState> {
  const path = dataDirBinary(dataDir);
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const next = `${path}.new`;
  rmSync(next, { force: true });
  copyFileSync(artifact, next);
  chmodSync(next, 0o755);
  const got = await sha256File(next);
  if (got !== sha256) {
    rmSync(next, { force: true });
    throw new ManagedBinaryError(
      'CP_ARTIFACT_INVALID',
      `the k3s ${version} artifact's SHA-256 is ${got}, not ${sha256}: nothing was changed`,
    );
  }
  const probe = await probeBinary(next);
  if (probe.kind !== 'found' || probe.version !== version) {
    rmSync(next, { force: true });
    const why =
      probe.kind === 'found'
        ? `it says it is ${probe.version}`
        : probe.kind === 'broken'
          ? probe.reason
          : 'it did not run';
    throw new ManagedBinaryError(
      'CP_ARTIFACT_INVALID',
      `the k3s ${version} artifact is not k3s ${version} (${why}): nothing was changed`,
    );
  }
  let previous: ManagedState['previous'];
  if (current.path === path) {
    renameSync(path, `${path}.previous`);
    previous = { path: `${path}.previous`, version: current.version, kept: true };
  } else {
    previous = { path: current.path, version: current.version, kept: false };
  }
  const state: ManagedState = { version, previous };
  writePublicFile(statePath(dataDir), JSON.stringify(state));
  renameSync(next, path);
  return state;
}

/** Puts back what ran before the last install; returns the binary to run now. */
export function restorePrevious(dataDir: string): { path: string; version: string } {
  const state = readManagedState(dataDir);
  const path = dataDirBinary(dataDir);
  if (!state?.previous)
    throw new ManagedBinaryError('CP_NO_PREVIOUS', 'no previous k3s binary is recorded: nothing to roll back to');
  const prev = state.previous;
  if (prev.kept) {
    if (!existsSync(prev.path))
      throw new ManagedBinaryError('CP_NO_PREVIOUS', `the previous k3s binary ${prev.path} is missing`);
    renameSync(prev.path, path);
    writePublicFile(
      statePath(dataDir),
      JSON.stringify({ version: prev.version, previous: null } satisfies ManagedState),
    );
    return { path, version: prev.version };
  }
  // The hub ran a binary from elsewhere: forget the managed one so that one runs again.
  rmSync(statePath(dataDir), { force: true });
  rmSync(path, { force: true });
  return { path: prev.path, version: prev.version };
}
