// pino for the agent; keys and tokens are redacted by path.
import { pino, type Logger } from 'pino';

export function createAgentLogger(level: string): Logger {
  return pino({
    level,
    base: { svc: 'atoll-agent' },
    redact: { paths: ['token', '*.token', 'key', '*.key', 'keyPem', '*.keyPem', 'privateKeyPem', '*.privateKeyPem', 'k3sToken', '*.k3sToken'], censor: '[redacted]' },
  }, pino.destination({ dest: 2, sync: true }));
}

export type { Logger };
