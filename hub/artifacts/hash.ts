// The SHA-256 of a file, streamed (artifacts are tens of MB). Its own module: the artifact store,
// the agent bundles and the installer's listings all need it, and none of them should import another for it.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}
