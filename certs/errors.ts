import { AtollError } from './atoll-error.js';

/** Stable error codes of the PKI library; callers map them to HTTP statuses and messages. */
export type CertErrorCode =
  | 'CSR_MALFORMED'
  | 'CSR_BAD_SIGNATURE'
  | 'CSR_SUBJECT_MISMATCH'
  | 'CSR_WEAK_KEY'
  | 'CERT_MALFORMED'
  | 'CERT_UNTRUSTED'
  | 'CERT_EXPIRED'
  | 'KEY_MALFORMED'
  | 'PIN_MISMATCH';

export class CertError extends AtollError<CertErrorCode> {
  override readonly name = 'CertError';

  constructor(code: CertErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}
