// The admin kubeconfig k3s writes (k3s.yaml): cluster/context/user all named "default".
import { chmodSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { CertAndKey } from '../pki/cert-factory.js';

export function kubeconfigYaml(server: string, caPem: string, user: CertAndKey): string {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  return [
    'apiVersion: v1',
    'clusters:',
    '- cluster:',
    `    certificate-authority-data: ${b64(caPem)}`,
    `    server: ${server}`,
    '  name: default',
    'contexts:',
    '- context:',
    '    cluster: default',
    '    user: default',
    '  name: default',
    'current-context: default',
    'kind: Config',
    'preferences: {}',
    'users:',
    '- name: default',
    '  user:',
    `    client-certificate-data: ${b64(user.certPem)}`,
    `    client-key-data: ${b64(user.keyPem)}`,
    '',
  ].join('\n');
}

export function writeKubeconfig(path: string, content: string, mode: number): void {
  writeFileAtomic(path, content, mode);
  chmodSync(path, mode);
}
