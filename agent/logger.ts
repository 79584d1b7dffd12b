// pino for the agent; keys and tokens are redacted by path.
import { pino, type Logger } from 'pino';
import { logDestination } from '../certs/log-format.js';

export function createAgentLogger(level: string): Logger {
  return pino(
    {
      level,
      base: { svc: 'atoll-agent' },
      redact: {
        paths: [
          'token',
          '*.token',
          'key',
          '*.key',
          'keyPem',
          '*.keyPem',
          'privateKeyPem',
          '*.privateKeyPem',
          'k3sToken',
          '*.k3sToken',
        ],
        censor: '[redacted]',
      },
    },
    logDestination(),
  );
}

export type { Logger };
