#!/usr/bin/env node
// After tsc: copy the generated protobuf JS next to its compiled importers, and make bins executable.
import { copyFileSync, chmodSync, mkdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
mkdirSync(join(root, 'dist/proto/gen'), { recursive: true });
for (const f of ['atoll.js', 'externalgrpc.js'])
  copyFileSync(join(root, 'proto/gen', f), join(root, 'dist/proto/gen', f));
for (const bin of ['dist/hub/main.js', 'dist/agent/main.js']) {
  if (existsSync(join(root, bin))) chmodSync(join(root, bin), 0o755);
}
