// The #cloud-config document, without a hub: its shape, its quoting, the example in deploy/ kept
// in step with it, and cloud-init's own schema check.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  CLOUD_INIT_FETCH_SCRIPT,
  installArgs,
  renderCloudInit,
  tokenLine,
} from '../../../hub/installer/cloud-init-doc.js';
import { parseLabelList } from '../../../hub/api/cloud-init.js';
import { packagePaths } from '../../../hub/installer/package-files.js';
import { commandExists, runcmdOf, shellify } from '../../helpers/installer.js';

const work = mkdtempSync(join(tmpdir(), 'atoll-cloud-init-unit-'));
after(() => rmSync(work, { recursive: true, force: true }));
const example = join(packagePaths().deployDir, 'cloud-init.example.yaml');
const TOKEN = `AT1${'0'.repeat(64)}::abcd1234.${'z'.repeat(32)}`;
const CA = '-----BEGIN CERTIFICATE-----\r\nMIIB\r\n-----END CERTIFICATE-----\r\n';
const input = {
  hubUrl: 'https://hub.example.com:9444',
  caPem: CA,
  token: TOKEN,
  tokenId: 'abcd1234',
  pool: 'edge',
  expiresAt: '2030-01-01T00:00:00.000Z',
  labels: { zone: 'a', 'example.com/role': 'web' },
  namePrefix: 'web',
};

test("runcmd: the token into the environment, then sh -c with the fetch program, the hub URL, its CA and install.sh's options", () => {
  const doc = renderCloudInit(input);
  assert.equal(doc.split('\n')[0], '#cloud-config');
  assert.match(doc, /single-use join token \(id abcd1234\) that expires at 2030-01-01T00:00:00\.000Z/);
  const runcmd = runcmdOf(doc);
  assert.deepEqual(runcmd, [
    `export ATOLL_TOKEN='${TOKEN}'`,
    [
      'sh',
      '-c',
      CLOUD_INIT_FETCH_SCRIPT,
      'atoll-cloud-init',
      input.hubUrl,
      CA.trim(),
      '--pool',
      'edge',
      '--label',
      'example.com/role=web',
      '--label',
      'zone=a',
      '--node-name-prefix',
      'web',
    ],
  ]);
  assert.ok(!(runcmd[1] as string[]).some((a) => a.includes(TOKEN.split('.')[1])), 'the token is no argument');
  assert.deepEqual(installArgs({ pool: 'p', labels: {}, k3s: 'off' }), ['--pool', 'p', '--k3s', 'off']);
  assert.throws(() => tokenLine("AT1'; reboot; '"), /not a join token/);
  // The two lines, as cloud-init runs them, give install.sh the token in its environment.
  const out = spawnSync('sh', ['-c', shellify([runcmd[0], ['sh', '-c', 'printf %s "$ATOLL_TOKEN"']])], {
    encoding: 'utf8',
  });
  assert.equal(out.stdout, TOKEN);
});

test('the fetch program is valid sh, pins the download to the CA, and passes install.sh the rest', () => {
  const r = spawnSync('sh', ['-n', '-c', CLOUD_INIT_FETCH_SCRIPT], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(CLOUD_INIT_FETCH_SCRIPT, /curl -sSfL --cacert "\$dir\/ca\.crt"/);
  assert.match(CLOUD_INIT_FETCH_SCRIPT, /wget -q --ca-certificate="\$dir\/ca\.crt"/);
  assert.doesNotMatch(CLOUD_INIT_FETCH_SCRIPT, /--insecure|no-check-certificate/);
  assert.match(CLOUD_INIT_FETCH_SCRIPT, /sh "\$dir\/install\.sh" --hub "\$hub" "\$@"$/);
  // The shellified command survives quoting: a label value with a quote-like edge stays one word.
  const script = shellify([['sh', '-c', 'printf "%s|" "$@"', 'x', "it's", 'a b']]);
  const out = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
  assert.equal(out.stdout, "it's|a b|");
});

test('labels from the query: key=value pairs, checked as Kubernetes labels', () => {
  assert.deepEqual(parseLabelList('a=b, example.com/x=y ,c='), { a: 'b', 'example.com/x': 'y', c: '' });
  assert.deepEqual(parseLabelList(undefined), {});
  assert.throws(() => parseLabelList('novalue'), /not key=value/);
  assert.throws(() => parseLabelList('a=$(reboot)'), /not a valid Kubernetes label value/);
  assert.throws(() => parseLabelList('-bad=x'), /not a valid Kubernetes label key/);
});

test('deploy/cloud-init.example.yaml runs the same fetch program the hub writes', () => {
  const text = readFileSync(example, 'utf8');
  assert.equal(text.split('\n')[0], '#cloud-config');
  assert.ok(
    text.includes(`    - ${JSON.stringify(CLOUD_INIT_FETCH_SCRIPT)}\n`),
    'the example is in step with hub/installer/cloud-init-doc.ts',
  );
});

test(
  "the hub's document and the example pass cloud-init schema",
  { skip: commandExists('cloud-init') ? false : 'cloud-init is not installed (apt-get install cloud-init)' },
  () => {
    const doc = join(work, 'doc.yaml');
    writeFileSync(doc, renderCloudInit(input));
    for (const f of [doc, example]) {
      const r = spawnSync('cloud-init', ['schema', '--config-file', f], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${f}: ${r.stdout}${r.stderr}`);
    }
  },
);
