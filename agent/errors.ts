// Agent errors with stable codes. Only main.ts turns them into exit codes.
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
  | 'DATA_DIR';

export class AgentError extends Error {
  constructor(
    readonly code: AgentErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AgentError';
  }
}
