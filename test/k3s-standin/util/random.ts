// Random strings in the alphabets Kubernetes and k3s use.
import { randomBytes, randomInt } from 'node:crypto';

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

export function randomFrom(alphabet: string, n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

/** bootstraputil.GenerateBootstrapToken: [a-z0-9]{6}.[a-z0-9]{16}. */
export function generateBootstrapToken(): string {
  const a = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return `${randomFrom(a, 6)}.${randomFrom(a, 16)}`;
}

/** The suffix apiserver appends for metadata.generateName. */
export function generateNameSuffix(): string {
  return randomFrom('bcdfghjklmnpqrstvwxz2456789', 5);
}
