// The committed proto/gen code must be what proto/atoll.proto generates (pbjs/pbts, static code).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../../helpers/processes.js';

test('proto/gen matches proto/atoll.proto (scripts/proto-gen.mjs --check)', () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'proto-gen.mjs'), '--check'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.error, undefined, `could not run proto-gen: ${r.error?.message}`);
  assert.equal(r.status, 0, `proto/gen drifted from proto/atoll.proto; run npm run proto:gen\n${r.stdout}${r.stderr}`);
});
