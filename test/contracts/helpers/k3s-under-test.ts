// Which k3s the contract suite runs against: ATOLL_TEST_K3S_BIN (a real k3s; needs root), or the
// stand-in built into a temp dir with scripts/build-standin.mjs.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface K3sUnderTest {
  readonly bin: string;
  readonly real: boolean;
  readonly note: string;
  /** Set when the suite cannot run here. */
  readonly skip?: string;
}

export async function resolveK3s(tmp: string, repoRoot: string): Promise<K3sUnderTest> {
  const real = process.env.ATOLL_TEST_K3S_BIN;
  if (real) {
    const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    return {
      bin: real,
      real: true,
      note: `k3s contract: running against the REAL k3s binary ${real} (ATOLL_TEST_K3S_BIN)`,
      ...(!existsSync(real)
        ? { skip: `ATOLL_TEST_K3S_BIN=${real} does not exist` }
        : !isRoot
          ? { skip: 'a real k3s needs root' }
          : {}),
    };
  }
  const mod = (await import(pathToFileURL(join(repoRoot, 'scripts', 'build-standin.mjs')).href)) as {
    buildStandin(o: { out: string }): Promise<string>;
  };
  const bin = await mod.buildStandin({ out: join(tmp, 'bin', 'k3s') });
  return {
    bin,
    real: false,
    note: `k3s contract: running against the k3s STAND-IN (${bin}); set ATOLL_TEST_K3S_BIN to run against a real k3s`,
  };
}
