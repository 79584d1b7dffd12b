// Artifact errors with stable codes (the CLI prints the message; the API maps them to HubErrors).
export type ArtifactErrorCode = 'ARTIFACT_INVALID' | 'ARTIFACT_NOT_FOUND' | 'ARTIFACT_EXISTS' | 'ARTIFACT_IN_USE';

export class ArtifactError extends Error {
  constructor(
    readonly code: ArtifactErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ArtifactError';
  }
}
