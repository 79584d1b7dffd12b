import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { before, test } from 'node:test';
import tls from 'node:tls';
import {
  createCa,
  createCsr,
  generateKeyPair,
  issueServerCert,
  signCsr,
  type CaMaterial,
} from '../../../certs/index.js';

interface ClientIdentity {
  key: string;
  cert: string;
}
interface Refusal {
  message: string;
  authorizationError: string | undefined;
}

let ca: CaMaterial;
let otherCa: CaMaterial;
let serving: { keyPem: string; certPem: string };
let client: ClientIdentity;
let foreignClient: ClientIdentity;

async function clientFrom(issuer: CaMaterial, name: string): Promise<ClientIdentity> {
  const { privateKeyPem } = await generateKeyPair();
  const issued = signCsr(issuer, createCsr(privateKeyPem, name), {
    commonName: name,
    organization: 'atoll:nodes',
    validityMs: 3_600_000,
    expectedSubjectCN: name,
  });
  return { key: privateKeyPem, cert: issued.certPem };
}

before(async () => {
  [ca, otherCa] = await Promise.all([createCa({ commonName: 'atoll-ca' }), createCa({ commonName: 'rogue-ca' })]);
  [serving, client, foreignClient] = await Promise.all([
    issueServerCert(ca, { commonName: 'atoll-hub', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'] }),
    clientFrom(ca, 'node-1'),
    clientFrom(otherCa, 'node-1'),
  ]);
});

/**
 * One mTLS server per test, so a late handshake error is never blamed on the next test.
 * Node's server destroys a refused socket after setting `authorizationError`; the reason is read there.
 */
async function withServer(fn: (port: number, refusals: Promise<Refusal>) => Promise<void>): Promise<void> {
  const server = tls.createServer(
    {
      key: serving.keyPem,
      cert: serving.certPem,
      ca: [ca.certPem],
      requestCert: true,
      rejectUnauthorized: true,
    },
    (socket) => {
      const peer = socket.getPeerCertificate();
      socket.end(`hello ${peer.subject.CN}/${peer.subject.O}`);
    },
  );
  const refusal = new Promise<Refusal>((resolve) => {
    server.once('tlsClientError', (err, socket) =>
      resolve({
        message: err.message,
        authorizationError: socket.authorizationError ? String(socket.authorizationError) : undefined,
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await fn((server.address() as AddressInfo).port, refusal);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Connects, sends nothing; resolves with what the server says or rejects with the TLS error. */
function talk(port: number, id: ClientIdentity | undefined, trust: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: [trust], ...(id ?? {}) });
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      data += chunk;
    });
    socket.on('error', reject);
    socket.on('end', () => resolve(data));
    socket.on('close', () => resolve(data));
  });
}

/** Under TLS 1.3 the client may finish its side before the server refuses; it must never be greeted. */
async function refusedByServer(id: ClientIdentity | undefined): Promise<Refusal> {
  let result: Refusal | undefined;
  await withServer(async (port, refusal) => {
    const said = await talk(port, id, ca.certPem).catch((err: Error) => `(client error: ${err.message})`);
    assert.doesNotMatch(said, /hello/);
    result = await refusal;
  });
  assert.ok(result);
  return result;
}

test('mTLS handshake succeeds with the server cert (IP SAN) and a CSR-issued client cert', async () => {
  await withServer(async (port) => {
    assert.equal(await talk(port, client, ca.certPem), 'hello node-1/atoll:nodes');
  });
});

test('the client refuses the server when it trusts another CA', async () => {
  await withServer(async (port) => {
    await assert.rejects(talk(port, client, otherCa.certPem), /self[- ]signed|unable to verify|unable to get/i);
  });
});

test('the server rejects a client certificate from another CA', async () => {
  const r = await refusedByServer(foreignClient);
  assert.match(String(r.authorizationError), /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/);
});

test('the server rejects a client without a certificate', async () => {
  const r = await refusedByServer(undefined);
  assert.match(r.message, /peer did not return a certificate/);
});

test('a serving certificate (EKU serverAuth only) is refused as a client certificate', async () => {
  const r = await refusedByServer({ key: serving.keyPem, cert: serving.certPem });
  assert.equal(r.authorizationError, 'INVALID_PURPOSE');
});
