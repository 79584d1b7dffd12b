// The cloud provider a host says it runs on, from its DMI/SMBIOS strings (/sys/class/dmi/id). Only
// what the firmware states: no metadata-service calls, no guessing from addresses. '' when unknown.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const DMI_ROOT = '/sys/class/dmi/id';

interface Dmi {
  vendor: string;
  product: string;
  assetTag: string;
}

/** First match wins: [provider, test on the DMI strings]. */
const TABLE: ReadonlyArray<readonly [string, (d: Dmi) => boolean]> = [
  ['aws', (d) => d.vendor === 'amazon ec2' || d.product.startsWith('amazon ec2')],
  ['gcp', (d) => d.vendor === 'google' || d.product === 'google compute engine'],
  // Azure VMs are Hyper-V VMs ("Microsoft Corporation"); the asset tag says Azure.
  ['azure', (d) => d.vendor === 'microsoft corporation' && d.assetTag === '7783-7084-3265-9085-8269-3286-77'],
  ['oracle', (d) => d.assetTag === 'oraclecloud.com'],
  ['digitalocean', (d) => d.vendor === 'digitalocean'],
  ['hetzner', (d) => d.vendor === 'hetzner'],
  ['scaleway', (d) => d.vendor === 'scaleway'],
  ['ovh', (d) => d.vendor === 'ovh' || d.vendor.startsWith('ovh ')],
  ['linode', (d) => d.vendor === 'linode' || d.vendor === 'akamai'],
  ['vultr', (d) => d.vendor === 'vultr'],
  ['alibaba', (d) => d.vendor === 'alibaba cloud'],
  ['exoscale', (d) => d.vendor === 'exoscale'],
  ['upcloud', (d) => d.vendor === 'upcloud'],
];

function read(root: string, name: string): string {
  try {
    // DMI strings are short; bound what is read anyway.
    return readFileSync(join(root, name), 'utf8').slice(0, 256).trim().toLowerCase();
  } catch {
    return '';
  }
}

export function providerFromDmi(root: string = DMI_ROOT): string {
  const d: Dmi = {
    vendor: read(root, 'sys_vendor'),
    product: read(root, 'product_name'),
    assetTag: read(root, 'chassis_asset_tag'),
  };
  return TABLE.find(([, match]) => match(d))?.[0] ?? '';
}
