// Artifact errors with stable codes (the CLI prints the message; the API maps them to HubErrors).
import { AtollError } from '../../certs/atoll-error.js';

export type ArtifactErrorCode = 'ARTIFACT_INVALID' | 'ARTIFACT_NOT_FOUND' | 'ARTIFACT_EXISTS' | 'ARTIFACT_IN_USE';

export class ArtifactError extends AtollError<ArtifactErrorCode> {
  constructor(code: ArtifactErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = 'ArtifactError';
  }
}
