// Every error the hub returns to a caller, with a stable code and HTTP status. One registry: docs
// and tests refer to these codes, so never rename one. (Failures that never reach a caller as such
// are AtollErrors with codes of their own: certs/atoll-error.ts.)
import { AtollError } from '../certs/atoll-error.js';

export const HUB_ERRORS = {
  BAD_REQUEST: 400,
  VALIDATION: 400,
  CSR_INVALID: 400,
  UNAUTHORIZED: 401,
  TOKEN_INVALID: 401,
  TOKEN_EXPIRED: 401,
  TOKEN_REVOKED: 401,
  TOKEN_USED_UP: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  NODE_OFFLINE: 503,
  STORE_UNAVAILABLE: 503,
  /** The PostgreSQL datastore cannot be reached (down, restarting); the hub recovers when it is back. */
  DATASTORE_UNAVAILABLE: 503,
  /** This hub sheds its agents (shutting down, or cut off from its database): they go to another hub. */
  HUB_DRAINING: 503,
  DISK_FULL: 507,
  COMMAND_TIMEOUT: 504,
  // Node certificates (renewal over the link, recovery over HTTPS) and node identity.
  RENEW_TOO_EARLY: 409,
  RENEW_PENDING: 409,
  RENEW_IN_PROGRESS: 429,
  CERT_REVOKED: 403,
  CERT_EXPIRED_BEYOND_GRACE: 403,
  NODE_REMOVED: 403,
  IDENTITY_IN_USE: 409,
} as const;

export type HubErrorCode = keyof typeof HUB_ERRORS;

export class HubError extends AtollError<HubErrorCode> {
  readonly status: number;
  constructor(
    code: HubErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: ErrorOptions,
  ) {
    super(code, message, options);
    this.name = 'HubError';
    this.status = HUB_ERRORS[code];
  }
}

export class ConfigError extends AtollError<'CONFIG'> {
  constructor(message: string, options?: ErrorOptions) {
    super('CONFIG', message, options);
    this.name = 'ConfigError';
  }
}

export function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

/** Backups and restores (atoll-hub backup, atoll-hub restore, scheduled backups): the CLI exits 1 with the message. */
export type BackupErrorCode =
  | 'BACKUP_CORRUPT'
  | 'BACKUP_TOO_NEW'
  | 'BACKUP_PASSPHRASE'
  | 'BACKUP_NEEDS_SECRET'
  | 'BACKUP_UNSIGNED'
  | 'BACKUP_SIGNATURE'
  | 'BACKUP_TOO_LARGE'
  | 'RESTORE_TARGET_NOT_EMPTY'
  /** k3s refused to restore the etcd snapshot a restore left for its next start (hub/k3s/etcd-restore.ts). */
  | 'RESTORE_K3S_FAILED'
  | 'BACKUP_FAILED';

export class BackupError extends AtollError<BackupErrorCode> {
  constructor(code: BackupErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = 'BackupError';
  }
}
