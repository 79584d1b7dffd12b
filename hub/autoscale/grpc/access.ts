// What the API needs of the autoscaler gRPC service: issuing its client certificate and saying where
// cluster-autoscaler reaches it. Set on HubServices by serve.ts.

export interface AutoscalerCertGrant {
  certificate: string;
  caCertificate: string;
  serial: string;
  notAfter: string;
  /** host:port for cluster-autoscaler's cloud config; null while --autoscaler-grpc-listen is off. */
  address: string | null;
}

export interface AutoscalerGrpcAccess {
  /** Issues a client certificate with the autoscaler role for the CSR's key; records an audit event. */
  issueCert(csrPem: string, actor: string): Promise<AutoscalerCertGrant>;
  /** Revokes one client certificate (by serial) or, with null, all; answers the serials revoked; records an audit event. */
  revokeCerts(serial: string | null, actor: string): Promise<string[]>;
}
