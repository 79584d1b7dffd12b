// Host facts: the addresses an agent reports are the ones others can reach it by.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetworkInterfaceInfo } from 'node:os';
import { hostAddresses, isLinkLocal } from '../../../agent/facts.js';

function iface(address: string, internal = false): NetworkInterfaceInfo {
  const v6 = address.includes(':');
  return v6
    ? {
        address,
        netmask: 'ffff:ffff:ffff:ffff::',
        family: 'IPv6',
        mac: '02:00:00:00:00:01',
        internal,
        cidr: `${address}/64`,
        scopeid: 2,
      }
    : { address, netmask: '255.255.0.0', family: 'IPv4', mac: '02:00:00:00:00:01', internal, cidr: `${address}/16` };
}

test('link-local IPv6 (fe80::/10) and IPv4 (169.254/16) addresses are left out; IPv4 first', () => {
  const got = hostAddresses({
    lo: [iface('127.0.0.1', true), iface('::1', true)],
    eth0: [iface('fe80::a00:27ff:fe4e:66a1'), iface('203.0.113.7'), iface('2001:db8::7'), iface('169.254.10.20')],
    wg0: [iface('FEBF::1'), iface('10.0.0.5'), iface('fd00::5')],
  });
  assert.deepEqual(got, ['203.0.113.7', '10.0.0.5', '2001:db8::7', 'fd00::5']);
});

test('isLinkLocal: exactly fe80::/10 and 169.254/16', () => {
  for (const a of ['fe80::1', 'fe80::1%eth0', 'fe9f::1', 'feab:1::2', 'febf:ffff::1', '169.254.0.1', '169.254.255.254'])
    assert.equal(isLinkLocal(a), true, a);
  for (const a of [
    'fec0::1',
    'fe8::1',
    'fd00::1',
    '2001:db8::1',
    '::ffff:10.0.0.1',
    '169.25.0.1',
    '10.169.254.1',
    '192.168.1.1',
  ])
    assert.equal(isLinkLocal(a), false, a);
});
