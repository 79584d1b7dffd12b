// Before a file is kept as a k3s artifact it must be one: for the hub's own arch it has to run and
// say it is the version it is imported as (`FILE --version`, the probe control-plane upgrades use);
// for another arch it must at least be an ELF executable for that machine (it cannot run here).
import { closeSync, openSync, readSync } from 'node:fs';
import { arch as osArch } from 'node:os';
import { probeBinary } from '../k3s/binary.js';
import { ArtifactError } from './errors.js';

/** ELF e_machine and class (1: 32-bit, 2: 64-bit) of each arch the hub serves. */
const ELF_MACHINE: Record<string, { machine: number; bits: 1 | 2; name: string }> = {
  amd64: { machine: 62, bits: 2, name: 'x86-64' },
  arm64: { machine: 183, bits: 2, name: 'AArch64' },
  arm: { machine: 40, bits: 1, name: 'ARM' },
};
const NODE_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm' };

/** The hub host's arch in k3s terms (amd64, arm64, arm). */
export function hostArch(): string {
  return NODE_ARCH[osArch()] ?? osArch();
}

function machineName(machine: number): string {
  return Object.values(ELF_MACHINE).find((m) => m.machine === machine)?.name ?? `machine ${machine}`;
}

/** Throws ARTIFACT_INVALID unless `file` starts with an ELF header for `arch`. */
export function checkElf(file: string, arch: string, shownAs = file): void {
  const head = Buffer.alloc(20);
  const fd = openSync(file, 'r');
  let n: number;
  try {
    n = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  if (n < 20 || head.readUInt32BE(0) !== 0x7f454c46)
    throw new ArtifactError('ARTIFACT_INVALID', `${shownAs} is not a k3s binary: it is not an ELF executable`);
  const want = ELF_MACHINE[arch];
  const little = head[5] !== 2;
  const machine = little ? head.readUInt16LE(18) : head.readUInt16BE(18);
  if (!want || machine !== want.machine || head[4] !== want.bits) {
    throw new ArtifactError(
      'ARTIFACT_INVALID',
      `${shownAs} is an ELF executable for ${machineName(machine)} (${head[4] === 2 ? 64 : 32}-bit), not for ${arch}`,
    );
  }
}

/** `#!` first: a script (the test stand-in for k3s is one); it proves itself by running. */
function isScript(file: string): boolean {
  const head = Buffer.alloc(2);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, head, 0, 2, 0);
  } finally {
    closeSync(fd);
  }
  return head.toString('latin1') === '#!';
}

/**
 * Checks `file` (executable, in its final directory) as k3s `version` for `arch`. Returns how it was
 * checked: 'ran' (it ran here and said its version) or 'elf' (another arch: header only).
 */
export async function checkK3sArtifact(
  file: string,
  version: string,
  arch: string,
  shownAs = file,
  host = hostArch(),
): Promise<'ran' | 'elf'> {
  if (arch !== host) {
    checkElf(file, arch, shownAs);
    return 'elf';
  }
  if (!isScript(file)) checkElf(file, arch, shownAs);
  const probe = await probeBinary(file);
  if (probe.kind !== 'found') {
    const why = probe.kind === 'broken' ? probe.reason.replaceAll(file, shownAs) : 'it did not run';
    throw new ArtifactError('ARTIFACT_INVALID', `${shownAs} is not a working k3s binary: ${why}`);
  }
  if (probe.version !== version) {
    throw new ArtifactError(
      'ARTIFACT_INVALID',
      `${shownAs} --version says it is k3s ${probe.version}, not ${version}: import it as ${probe.version}`,
    );
  }
  return 'ran';
}
