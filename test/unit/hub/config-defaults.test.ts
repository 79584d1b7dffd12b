// `atoll-hub run --help` shows the defaults config parsing applies: every flag that takes a value
// names its default (unless its default is derived, listed below), and giving that value explicitly
// yields the same config as giving nothing. The defaults table (HUB_DEFAULTS) is what both read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { HUB_DEFAULTS, parseHubConfig, type HubFlags } from '../../../hub/config.js';
import { flagKey, helpOf, helpOptions, shownDefault } from '../../helpers/help-text.js';

/** Flags whose default is computed (public URL, connection caps, paths in the data dir, the SQLite file) or empty (repeatable). */
const DERIVED = [
  'public-url',
  // The public URL unless given; none unless given (repeatable).
  'gateway-url',
  'tls-san',
  'cluster-secret-file',
  'datastore',
  'hub-id',
  // Off unless given: scheduled backups keep the cluster secret out of the archive.
  'backup-passphrase-file',
  // <data-dir>/backups unless given.
  'backup-dir',
  // Off unless given: no webhook, no JSON-lines file.
  'events-webhook',
  'events-webhook-secret-file',
  'events-jsonl',
  'k3s-arg',
  // Embedded on SQLite, beside atoll's database on PostgreSQL.
  'k3s-datastore-endpoint',
  'api-max-connections',
  'api-max-connections-per-source',
  'gateway-max-connections',
  'gateway-max-connections-per-source',
];

test('atoll-hub run --help shows the defaults that parsing the flags applies', () => {
  const options = helpOptions(helpOf('hub/main.ts', ['run']));
  for (const name of [...DERIVED, 'data-dir', 'heartbeat-interval', 'events-max-count'])
    assert.ok(options.has(name), `--${name} is in the help`);
  let checked = 0;
  for (const [name, o] of options) {
    if (!o.arg || DERIVED.includes(name) || name === 'data-dir') continue;
    const shown = shownDefault(o.text);
    assert.ok(shown !== undefined, `--${name}: the help names no default ("${o.text}")`);
    for (const isRoot of [false, true]) {
      assert.deepEqual(
        parseHubConfig({ [flagKey(name)]: shown } as HubFlags, {}, isRoot),
        parseHubConfig({}, {}, isRoot),
        `--${name} ${shown} (the default the help names) is not what the hub applies without the flag`,
      );
    }
    checked++;
  }
  assert.ok(checked >= 20, `${checked} flags checked`);
  // The data dir depends on the user: both cases are named.
  const dataDir = /default (\S+) as root, else (\S+?)\)/.exec(options.get('data-dir')?.text ?? '');
  assert.ok(dataDir, options.get('data-dir')?.text);
  assert.equal(parseHubConfig({}, {}, true).dataDir, resolve(dataDir[1]));
  assert.equal(parseHubConfig({}, {}, false).dataDir, resolve(dataDir[2]));
  // Every entry of the table is a flag whose help shows it.
  for (const [key, value] of Object.entries(HUB_DEFAULTS)) {
    if (key === 'dataDir' || key === 'dataDirAsRoot') continue;
    const name = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    assert.equal(shownDefault(options.get(name)?.text ?? ''), value, `--${name}`);
  }
});
