// The provider a node shows comes from its DMI strings; unknown hosts say '' (never a guess).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { providerFromDmi } from '../../../agent/provider.js';
import { nodeView } from '../../../hub/nodes/node-view.js';
import type { NodeRegistry } from '../../../hub/nodes/registry.js';
import type { NodeRecord } from '../../../hub/store/types.js';

function dmi(t: { after(fn: () => void): void }, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'atoll-dmi-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), `${text}\n`);
  return dir;
}

test('DMI vendor, product and asset tag name the provider', (t) => {
  const cases: Array<[Record<string, string>, string]> = [
    [{ sys_vendor: 'Amazon EC2', product_name: 't3.micro' }, 'aws'],
    [{ sys_vendor: 'Google', product_name: 'Google Compute Engine' }, 'gcp'],
    [
      {
        sys_vendor: 'Microsoft Corporation',
        product_name: 'Virtual Machine',
        chassis_asset_tag: '7783-7084-3265-9085-8269-3286-77',
      },
      'azure',
    ],
    [{ sys_vendor: 'DigitalOcean', product_name: 'Droplet' }, 'digitalocean'],
    [{ sys_vendor: 'Hetzner', product_name: 'vServer' }, 'hetzner'],
    [{ sys_vendor: 'Scaleway', product_name: 'SCW-DEV1-S' }, 'scaleway'],
    [{ sys_vendor: 'OVH', product_name: 'x' }, 'ovh'],
    [{ sys_vendor: 'QEMU', product_name: 'Standard PC', chassis_asset_tag: 'OracleCloud.com' }, 'oracle'],
  ];
  for (const [files, want] of cases) assert.equal(providerFromDmi(dmi(t, files)), want, JSON.stringify(files));
});

test('unknown or unreadable DMI: provider is empty on purpose', (t) => {
  // A Hyper-V VM that is not Azure, a laptop, a plain QEMU VM, no DMI at all.
  assert.equal(
    providerFromDmi(
      dmi(t, { sys_vendor: 'Microsoft Corporation', product_name: 'Virtual Machine', chassis_asset_tag: 'None' }),
    ),
    '',
  );
  assert.equal(providerFromDmi(dmi(t, { sys_vendor: 'LENOVO', product_name: '20XW' })), '');
  assert.equal(providerFromDmi(dmi(t, { sys_vendor: 'QEMU' })), '');
  assert.equal(providerFromDmi(join(tmpdir(), 'atoll-no-dmi-here')), '');
});

test('node view: provider from the facts, region from the topology label (atoll first, then Kubernetes), else empty', () => {
  const base = {
    id: 'n1',
    name: 'n1',
    pool: 'default',
    state: 'ready',
    lastSeen: null,
    createdAt: '',
    agentVersion: '',
    health: null,
  } as unknown as NodeRecord;
  const facts = {
    hostname: 'h',
    os: '',
    kernel: '',
    arch: 'amd64',
    cpus: 1,
    memoryBytes: 1,
    addresses: [],
    bootId: '',
  };
  const registry = (kubeLabels?: Record<string, string>): NodeRegistry =>
    ({
      liveInfo: () => ({ reasons: [], connected: false, connectedAt: null, remoteAddress: null, link: {} }),
      kubeView: () =>
        kubeLabels
          ? { ready: true, unschedulable: false, kubeletVersion: '', taints: [], problems: [], labels: kubeLabels }
          : undefined,
    }) as unknown as NodeRegistry;
  const v1 = nodeView(
    { ...base, labels: { 'topology.kubernetes.io/region': 'fr-par' }, facts: { ...facts, provider: 'scaleway' } },
    registry({ 'topology.kubernetes.io/region': 'other' }),
  );
  assert.deepEqual([v1.provider, v1.region], ['scaleway', 'fr-par']);
  const v2 = nodeView({ ...base, labels: {}, facts }, registry({ 'topology.kubernetes.io/region': 'eu-central-1' }));
  assert.deepEqual(
    [v2.provider, v2.region, v2.kubeLabels],
    ['', 'eu-central-1', { 'topology.kubernetes.io/region': 'eu-central-1' }],
  );
  const v3 = nodeView({ ...base, labels: {}, facts }, registry());
  assert.deepEqual([v3.provider, v3.region, v3.kubeLabels], ['', '', {}]);
});
