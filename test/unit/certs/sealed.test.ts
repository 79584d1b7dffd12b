// Sealed secrets: what seal() makes opens only with the same cluster secret, purpose and name, and
// every other case is a typed error that says which (wrong secret, changed, not an envelope).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { seal, unseal, sealKeyId, SealError, SEALED_OVERHEAD, type SealKey } from '../../../certs/sealed.js';

const key = (source = '/data/cluster-secret'): SealKey => ({ secret: randomBytes(32), source });
const pem =
  '-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA\n-----END PRIVATE KEY-----\n';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SealError, `a SealError, got ${String(err)}`);
    return err.code;
  }
  assert.fail('no error');
}

test('round trip: the same secret, purpose and name open it; the blob holds no plaintext', () => {
  const k = key();
  const sealed = seal(k, 'store', 'ca', pem);
  assert.equal(unseal(k, 'store', 'ca', sealed).toString('utf8'), pem);
  assert.equal(sealed.length, SEALED_OVERHEAD + Buffer.byteLength(pem));
  assert.equal(sealed.includes('PRIVATE KEY'), false);
  assert.equal(sealed.subarray(0, 4).toString('latin1'), 'atsl');
  assert.equal(sealed[4], 1, 'envelope version 1');
  // Binary and empty plaintexts too; and each seal is fresh (salt and nonce), so equal inputs differ.
  const bytes = randomBytes(48);
  assert.deepEqual(unseal(k, 'store', 'tls-ticket-keys', seal(k, 'store', 'tls-ticket-keys', bytes)), bytes);
  assert.equal(unseal(k, 'store', 'x', seal(k, 'store', 'x', Buffer.alloc(0))).length, 0);
  assert.notDeepEqual(seal(k, 'store', 'ca', pem), sealed);
});

test('a wrong cluster secret: CLUSTER_SECRET_MISMATCH naming the file and the fix', () => {
  const right = key('/a/cluster-secret');
  const wrong = key('/b/cluster-secret');
  const sealed = seal(right, 'store', 'ca', pem);
  assert.equal(
    code(() => unseal(wrong, 'store', 'ca', sealed)),
    'CLUSTER_SECRET_MISMATCH',
  );
  assert.throws(
    () => unseal(wrong, 'store', 'ca', sealed),
    (err: Error) =>
      err.message.includes('/b/cluster-secret') &&
      err.message.includes('another cluster secret') &&
      err.message.includes('--cluster-secret-file') &&
      err.message.includes(sealKeyId(right)) &&
      !err.message.includes(right.secret.toString('hex')),
  );
  assert.equal(sealKeyId(right), sealKeyId({ secret: Buffer.from(right.secret), source: 'elsewhere' }));
  assert.notEqual(sealKeyId(right), sealKeyId(wrong));
});

test('any changed byte after the key id: SEALED_DAMAGED (salt, nonce, tag, ciphertext)', () => {
  const k = key();
  const sealed = seal(k, 'store', 'ca', pem);
  for (let i = 13; i < sealed.length; i += 7) {
    const tampered = Buffer.from(sealed);
    tampered[i] ^= 0x01;
    assert.equal(
      code(() => unseal(k, 'store', 'ca', tampered)),
      'SEALED_DAMAGED',
      `byte ${i}`,
    );
  }
  // The magic and version bytes: not an envelope this atoll reads.
  for (const i of [0, 4]) {
    const tampered = Buffer.from(sealed);
    tampered[i] ^= 0x01;
    assert.equal(
      code(() => unseal(k, 'store', 'ca', tampered)),
      'SEALED_MALFORMED',
      `byte ${i}`,
    );
  }
});

test('a blob sealed for one name (or purpose) does not open as another', () => {
  const k = key();
  const servingKey = seal(k, 'store', 'serving-key', pem);
  assert.equal(
    code(() => unseal(k, 'store', 'ca', servingKey)),
    'SEALED_DAMAGED',
  );
  assert.equal(
    code(() => unseal(k, 'k3s-node-token', 'serving-key', servingKey)),
    'SEALED_DAMAGED',
  );
});

test('a truncated blob: SEALED_MALFORMED below the header, SEALED_DAMAGED after it', () => {
  const k = key();
  const sealed = seal(k, 'store', 'ca', pem);
  for (const len of [0, 3, 5, 20, SEALED_OVERHEAD - 1])
    assert.equal(
      code(() => unseal(k, 'store', 'ca', sealed.subarray(0, len))),
      'SEALED_MALFORMED',
      `${len} bytes`,
    );
  for (const len of [SEALED_OVERHEAD, SEALED_OVERHEAD + 1, sealed.length - 1])
    assert.equal(
      code(() => unseal(k, 'store', 'ca', sealed.subarray(0, len))),
      'SEALED_DAMAGED',
      `${len} bytes`,
    );
});

test('a newer envelope version is refused as such, and labels are checked', () => {
  const k = key();
  const sealed = Buffer.from(seal(k, 'store', 'ca', pem));
  sealed[4] = 2;
  assert.throws(() => unseal(k, 'store', 'ca', sealed), /version 2.*newer atoll/);
  assert.throws(() => seal(k, 'store', 'Bad Name', pem), RangeError);
  assert.throws(() => seal({ secret: randomBytes(16), source: 'x' }, 'store', 'ca', pem), RangeError);
});
