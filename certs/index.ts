export { CertError, type CertErrorCode } from './errors.js';
export { generateKeyPair, type KeyPairPem } from './keys.js';
export {
  loadRsaPrivateKey,
  nodeSigner,
  signCertificate,
  signCertificationRequest,
  type ForgeSigner,
} from './signer.js';
export { createCa, type CaMaterial, type CreateCaOptions } from './ca.js';
export {
  issueClientCertForKey,
  issueServerCert,
  signCsr,
  type ClientCertOptions,
  type IssuedCert,
  type ServerCertOptions,
  type SignCsrOptions,
} from './issue.js';
export { createCsr, verifyCsr, type VerifiedCsr } from './csr.js';
export { caPin, checkPin, spkiPin } from './pin.js';
export { certInfo, verifyIssuedBy, type CertInfo } from './inspect.js';
export { certKeySha256, privateKeySha256, publicKeySha256 } from './key-id.js';
export { checkSecretFileMode, FileModeError, writePublicFile, writeSecretFile } from './files.js';
