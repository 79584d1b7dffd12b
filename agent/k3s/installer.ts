// Downloads a k3s binary (or any artifact) from the hub over mTLS, checks its SHA-256, and installs it atomically:
// temp file, fsync, keep the previous binary for rollback, rename. A mismatch changes nothing.
import { request } from 'node:https';
import { createHash } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  renameSync,
  rmSync,
  copyFileSync,
  chmodSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Identity } from '../identity.js';
import { AtollError } from '../../certs/atoll-error.js';

export class InstallError extends AtollError<'ARTIFACT_CHECKSUM' | 'ARTIFACT_DOWNLOAD'> {
  constructor(code: 'ARTIFACT_CHECKSUM' | 'ARTIFACT_DOWNLOAD', message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = 'InstallError';
  }
}

export async function sha256Of(path: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

export function download(identity: Identity, urlPath: string, dest: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(urlPath, identity.hubUrl),
      {
        cert: identity.certPem,
        key: identity.keyPem,
        ca: identity.caPem,
        minVersion: 'TLSv1.2',
        timeout: 60_000,
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new InstallError('ARTIFACT_DOWNLOAD', `GET ${urlPath} answered HTTP ${res.statusCode}`));
          return;
        }
        pipeline(res, createWriteStream(dest, { mode: 0o700 })).then(resolve, (err: Error) =>
          reject(new InstallError('ARTIFACT_DOWNLOAD', `download of ${urlPath} failed: ${err.message}`)),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('no data for 60s')));
    req.on('error', (err) =>
      reject(new InstallError('ARTIFACT_DOWNLOAD', `download of ${urlPath} failed: ${err.message}`)),
    );
    req.end();
  });
}

/** Installs the artifact at `bin` unless it is already there with the same hash. Returns whether it changed. */
export async function installK3s(
  identity: Identity,
  artifact: { path: string; sha256: string },
  bin: string,
  previousBin: string,
): Promise<boolean> {
  if (existsSync(bin) && (await sha256Of(bin)) === artifact.sha256) return false;
  mkdirSync(dirname(bin), { recursive: true, mode: 0o755 });
  const tmp = join(dirname(bin), `.k3s.download.${process.pid}`);
  try {
    await download(identity, artifact.path, tmp);
    const actual = await sha256Of(tmp);
    if (actual !== artifact.sha256) {
      throw new InstallError(
        'ARTIFACT_CHECKSUM',
        `k3s artifact ${artifact.path} has SHA-256 ${actual}, expected ${artifact.sha256}; keeping the installed binary`,
      );
    }
    chmodSync(tmp, 0o755);
    if (existsSync(bin)) copyFileSync(bin, previousBin);
    renameSync(tmp, bin);
    return true;
  } finally {
    rmSync(tmp, { force: true });
  }
}
