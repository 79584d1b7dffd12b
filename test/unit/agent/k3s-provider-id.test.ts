// The agent's k3s config carries --kubelet-arg provider-id=atoll://<node id>: read by k3s (here its
// stand-in's own config-file and flag parsing), the kubelet registers the Node with that providerID,
// which cluster-autoscaler's externalgrpc provider matches to the hub's instances.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { writeK3sConfig } from '../../../agent/k3s/config-writer.js';
import { k3sPaths } from '../../../agent/k3s/paths.js';
import { configFileArgs } from '../../k3s-standin/cli/config-file.js';
import { parseFlags } from '../../k3s-standin/cli/flag-parser.js';
import { AGENT_FLAGS } from '../../k3s-standin/cli/flag-specs.js';
import { agentConfig } from '../../k3s-standin/agent/agent-config.js';
import { buildNode } from '../../k3s-standin/agent/node-object.js';
import { createLogger } from '../../k3s-standin/util/log.js';

test("the kubelet registers the node with providerID atoll://<node id> from the agent's k3s config", (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'atoll-provider-id-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const paths = k3sPaths(dir);
  writeK3sConfig(
    {
      serverUrl: 'https://127.0.0.1:6443',
      token: 'K10abc::server:secret',
      nodeName: 'web-1',
      labels: { 'atoll.dev/node-id': 'n-7f3a' },
      taints: [],
      nodeExternalIp: '',
      providerId: 'atoll://n-7f3a',
    },
    paths,
    {},
  );
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  const argv = configFileArgs(paths.config, true, AGENT_FLAGS, createLogger(sink));
  const cfg = agentConfig(parseFlags(argv, AGENT_FLAGS, {}, { stopAtFirstArg: false }), argv, {});
  assert.equal(cfg.providerId, 'atoll://n-7f3a');
  const node = buildNode(
    {
      name: cfg.nodeName,
      kubeletVersion: 'v1.31.4+k3s1',
      internalIps: ['10.0.0.5'],
      externalIps: [],
      labels: {},
      taints: [],
      annotations: {},
      providerId: cfg.providerId,
    },
    new Date(),
  ) as unknown as { spec: { providerID: string } };
  assert.equal(node.spec.providerID, 'atoll://n-7f3a');
});
