// atoll-hub autoscaler cert --out DIR: cluster-autoscaler's client certificate for the hub's
// externalgrpc service. The key is made here and never leaves this machine: the hub signs a CSR
// (POST /v1/autoscaler/certificate). Writes ca.crt, tls.crt, tls.key (0600) and cloud-config, the
// file to pass as cluster-autoscaler --cloud-provider=externalgrpc --cloud-config=DIR/cloud-config.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { client } from './session.js';
import { generateKeyPair } from '../../certs/keys.js';
import { createCsr } from '../../certs/csr.js';
import { writePublicFile, writeSecretFile } from '../../certs/files.js';
import type { AutoscalerCertGrant } from '../autoscale/grpc/access.js';

/** The cloud config of cluster-autoscaler's externalgrpc provider (YAML): where and how to dial the hub. */
export function cloudConfig(address: string, dir: string): string {
  const q = (s: string): string => JSON.stringify(s);
  return [
    '# cluster-autoscaler --cloud-provider=externalgrpc --cloud-config=<this file>; written by atoll-hub autoscaler cert',
    `address: ${q(address)}`,
    `key: ${q(join(dir, 'tls.key'))}`,
    `cert: ${q(join(dir, 'tls.crt'))}`,
    `cacert: ${q(join(dir, 'ca.crt'))}`,
    '',
  ].join('\n');
}

export function registerAutoscalerCommands(program: Command): void {
  const autoscaler = program
    .command('autoscaler')
    .description("cluster-autoscaler's externalgrpc cloud provider (atoll-hub run --autoscaler-grpc-listen)");
  const cert = autoscaler.command('cert');
  cert
    .command('revoke')
    .description("revoke cluster-autoscaler's client certificate SERIAL, or all with --all (admin)")
    .argument('[serial]', 'the serial `autoscaler cert` printed')
    .option('--all', 'revoke every autoscaler client certificate')
    .action(async (serial: string | undefined, o: { all?: boolean }, cmd: Command) => {
      if (Boolean(serial) === Boolean(o.all)) cmd.error('give a SERIAL or --all (one of them)');
      const c = client(cmd);
      const path = o.all ? '/v1/autoscaler/certificates' : `/v1/autoscaler/certificates/${encodeURIComponent(serial!)}`;
      const r = await c.api.call<{ revoked: string[] }>('DELETE', path);
      if (c.structured) return c.print(r);
      process.stdout.write(
        r.revoked.length ? `revoked ${r.revoked.join(', ')}\n` : 'no autoscaler client certificate to revoke\n',
      );
    });
  cert
    .description(
      'issue a client certificate for cluster-autoscaler (admin): writes ca.crt, tls.crt, tls.key and cloud-config to DIR',
    )
    // Checked in the action: a required option here would be required of `cert revoke` too.
    .option('--out <dir>', 'folder for the files (made if missing; required)')
    .option('--address <host:port>', "the hub's gRPC address for cloud-config (default: what the hub says)")
    .action(async (o: { out?: string; address?: string }, cmd: Command) => {
      if (!o.out) return cmd.error("error: required option '--out <dir>' not specified");
      const c = client(cmd);
      const dir = resolve(o.out);
      const { privateKeyPem } = await generateKeyPair();
      const grant = await c.api.call<AutoscalerCertGrant>('POST', '/v1/autoscaler/certificate', {
        csr: createCsr(privateKeyPem, 'cluster-autoscaler'),
      });
      const address = o.address ?? grant.address ?? '';
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      writeSecretFile(join(dir, 'tls.key'), privateKeyPem);
      writePublicFile(join(dir, 'tls.crt'), grant.certificate);
      writePublicFile(join(dir, 'ca.crt'), grant.caCertificate);
      writePublicFile(join(dir, 'cloud-config'), cloudConfig(address || 'HOST:PORT', dir));
      const summary = { dir, serial: grant.serial, notAfter: grant.notAfter, address: address || null };
      if (c.structured) return c.print(summary);
      process.stdout.write(
        `wrote ${dir}/{ca.crt,tls.crt,tls.key,cloud-config}; certificate ${grant.serial} expires ${grant.notAfter}\n` +
          (address
            ? `run cluster-autoscaler --cloud-provider=externalgrpc --cloud-config=${join(dir, 'cloud-config')}\n`
            : 'the hub serves no gRPC address (start it with --autoscaler-grpc-listen HOST:PORT, or pass --address); edit address: in cloud-config\n'),
      );
    });
}
