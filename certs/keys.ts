import { generateKeyPair as generateKeyPairCb } from 'node:crypto';
import { promisify } from 'node:util';

const generateKeyPairAsync = promisify(generateKeyPairCb);

export interface KeyPairPem {
  privateKeyPem: string;
  publicKeyPem: string;
}

/**
 * A fresh RSA 2048 key pair, made by OpenSSL on libuv's thread pool (never forge's pure-JS keygen).
 * Private key: PKCS#8 PEM; public key: SPKI PEM.
 */
export async function generateKeyPair(): Promise<KeyPairPem> {
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', {
    modulusLength: 2048,
    publicExponent: 0x10001,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}
