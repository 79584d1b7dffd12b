// Agent errors with stable codes. Only main.ts turns them into exit codes.
import { AtollError } from '../certs/atoll-error.js';

export type AgentErrorCode =
  | 'USAGE'
  | 'NO_IDENTITY'
  | 'PIN_MISMATCH'
  | 'HUB_UNREACHABLE'
  | 'JOIN_REFUSED'
  | 'TOKEN_MALFORMED'
  | 'IDENTITY_CORRUPT'
  | 'NODE_REMOVED'
  | 'TLS'
  | 'ALREADY_JOINED'
  | 'DATA_DIR'
  | 'K3S_NOT_RUNNING'
  | 'CERT_KEY_MISMATCH';

export class AgentError extends AtollError<AgentErrorCode> {
  constructor(code: AgentErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = 'AgentError';
  }
}
