// What the agent does about a hub's refusal or close (agent/link-refusal.ts): only an explicit
// NODE_REMOVED, which the hub sends after the removal is committed, makes it stop k3s and forget its
// identity. A hub that has not seen the node yet, one that is draining, shutting down or cut off from
// its database, or any other refusal sends it to another hub instead.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closeVerdict, refusalVerdict } from '../../../agent/link-refusal.js';
import { HUB_ERRORS } from '../../../hub/errors.js';

test('of all the hub error codes, only NODE_REMOVED ends the node (refused upgrade)', () => {
  for (const [code, status] of Object.entries(HUB_ERRORS)) {
    for (const message of ['', 'node n-1 was removed from this hub', 'client certificate expired at X']) {
      const v = refusalVerdict({ status, code, message });
      if (code === 'NODE_REMOVED') assert.equal(v, 'removed');
      else assert.notEqual(v, 'removed', `${status} ${code} ${message}`);
    }
  }
  // The refusal an older hub gave for a node it had not seen: no longer the end of the node.
  assert.equal(
    refusalVerdict({ status: 403, code: 'FORBIDDEN', message: 'node n-1 was removed from this hub' }),
    'retry',
  );
  assert.equal(refusalVerdict({ status: 403, code: 'HTTP_403', message: '' }), 'retry');
  assert.equal(refusalVerdict({ status: 503, code: 'HUB_DRAINING', message: '' }), 'elsewhere');
  assert.equal(refusalVerdict({ status: 503, code: 'DATASTORE_UNAVAILABLE', message: '' }), 'elsewhere');
});

test('of the close codes, only NODE_REMOVED ends the node; a draining or stopping hub sends it elsewhere', () => {
  assert.equal(closeVerdict('NODE_REMOVED'), 'removed');
  assert.equal(closeVerdict('HUB_DRAINING'), 'elsewhere');
  assert.equal(closeVerdict('HUB_SHUTDOWN'), 'elsewhere');
  for (const code of ['', 'REPLACED', 'FORBIDDEN', 'HELLO_TIMEOUT', 'FIELD_INVALID', 'SLOW_CONSUMER', 'node_removed'])
    assert.notEqual(closeVerdict(code), 'removed', code);
});
