// Connection caps: read from the open-file limit, sized for 10,000+ agents when the limit allows,
// overridable by flags; flags that are not positive integers are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openFileLimit, defaultCaps, connectionCapsFor } from '../../../hub/http/connection-caps.js';
import { parseHubConfig } from '../../../hub/config.js';
import { createLogger } from '../../../hub/logger.js';
import { ConfigError } from '../../../hub/errors.js';

const limits = (soft: string): string =>
  `Limit                     Soft Limit           Hard Limit           Units\nMax open files            ${soft}              1048576              files\n`;

test('the open-file limit is read from /proc/self/limits', () => {
  assert.equal(openFileLimit(limits('65536')), 65536);
  assert.equal(openFileLimit(limits('unlimited')), Number.MAX_SAFE_INTEGER);
  assert.equal(openFileLimit('nothing here'), undefined);
  assert.ok((openFileLimit() ?? 1) > 0);
});

test('default caps stay below the open-file limit and fit 10,000+ agents when it is raised', () => {
  for (const nofile of [1024, 4096, 65536, 1048576]) {
    const c = defaultCaps(nofile);
    assert.ok(
      c.api.maxTotal + c.gateway.maxTotal <= nofile - 200,
      `${nofile}: caps leave room for the rest of the hub`,
    );
    assert.ok(c.gateway.maxPerSource < c.gateway.maxTotal, `${nofile}: one source cannot take the whole gateway`);
    assert.ok(c.api.maxPerSource < c.api.maxTotal);
  }
  assert.deepEqual(defaultCaps(1024), {
    api: { maxTotal: 96, maxPerSource: 48 },
    gateway: { maxTotal: 672, maxPerSource: 168 },
  });
  const big = defaultCaps(65536);
  assert.ok(big.gateway.maxTotal > 60_000);
  assert.equal(big.gateway.maxPerSource, 1024);
  assert.equal(big.api.maxTotal, 1024);
});

test('flags override the caps; bad values are refused', () => {
  const config = parseHubConfig(
    { dataDir: '/tmp/x', gatewayMaxConnections: '5000', apiMaxConnectionsPerSource: '7', handshakeTimeout: '2s' },
    {},
    false,
  );
  assert.equal(config.handshakeTimeoutMs, 2000);
  const caps = connectionCapsFor(config, createLogger('silent'), limits('65536'));
  assert.equal(caps.gateway.maxTotal, 5000);
  assert.equal(caps.gateway.maxPerSource, 1024);
  assert.equal(caps.api.maxPerSource, 7);
  assert.equal(caps.api.maxTotal, 1024);
  assert.throws(
    () => parseHubConfig({ dataDir: '/tmp/x', gatewayMaxConnections: '0' }, {}, false),
    (e: Error) => e instanceof ConfigError && /--gateway-max-connections must be a positive integer/.test(e.message),
  );
  assert.throws(() => parseHubConfig({ dataDir: '/tmp/x', apiMaxConnections: '12abc' }, {}, false), ConfigError);
  assert.throws(
    () => parseHubConfig({ dataDir: '/tmp/x', handshakeTimeout: '2m' }, {}, false),
    /--handshake-timeout must be between/,
  );
});
