// One pino root logger per process; components take logger.child({ component }).
// Secrets are redacted by path, so a token or key can never reach a log line by accident.
import { pino, type Logger } from 'pino';
import { logDestination } from '../certs/log-format.js';

export const REDACT_PATHS = [
  'token',
  '*.token',
  'secret',
  '*.secret',
  'key',
  '*.key',
  'keyPem',
  '*.keyPem',
  'privateKeyPem',
  '*.privateKeyPem',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'adminToken',
  'k3sToken',
  '*.k3sToken',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    { level, base: { svc: 'atoll-hub' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    destination ?? logDestination(),
  );
}

export type { Logger };
