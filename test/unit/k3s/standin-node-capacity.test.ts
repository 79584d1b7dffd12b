// The k3s stand-in's node capacity knob (stand-in only: a real kubelet reports its machine):
// ATOLL_STANDIN_NODE_CPU / ATOLL_STANDIN_NODE_MEMORY set the cpu and memory a node reports as capacity
// and allocatable, so tests that schedule by requests know each node's size on any machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpus } from 'node:os';
import { parseFlags } from '../../k3s-standin/cli/flag-parser.js';
import { AGENT_FLAGS } from '../../k3s-standin/cli/flag-specs.js';
import { agentConfig } from '../../k3s-standin/agent/agent-config.js';
import { buildNode } from '../../k3s-standin/agent/node-object.js';

const argv = ['--server', 'https://127.0.0.1:6443', '--token', 'K10abc::server:secret', '--node-name', 'n1'];
const cfgOf = (env: NodeJS.ProcessEnv): ReturnType<typeof agentConfig> =>
  agentConfig(parseFlags(argv, AGENT_FLAGS, {}, { stopAtFirstArg: false }), argv, env);

function status(env: NodeJS.ProcessEnv): { capacity: Record<string, string>; allocatable: Record<string, string> } {
  const cfg = cfgOf(env);
  const node = buildNode(
    {
      name: cfg.nodeName,
      kubeletVersion: 'v1.31.4+k3s1',
      internalIps: ['10.0.0.5'],
      externalIps: [],
      labels: {},
      taints: [],
      annotations: {},
      ...(cfg.capacity ? { capacity: cfg.capacity } : {}),
    },
    new Date(),
  ) as unknown as { status: { capacity: Record<string, string>; allocatable: Record<string, string> } };
  return node.status;
}

test('ATOLL_STANDIN_NODE_CPU and _MEMORY set the node capacity and allocatable; the host figures without them', () => {
  const set = status({ ATOLL_STANDIN_NODE_CPU: '2', ATOLL_STANDIN_NODE_MEMORY: '4Gi' });
  assert.equal(set.allocatable.cpu, '2');
  assert.equal(set.allocatable.memory, '4Gi');
  assert.equal(set.capacity.cpu, '2');
  assert.equal(set.allocatable.pods, '110');
  assert.equal(status({ ATOLL_STANDIN_NODE_CPU: '1500m' }).allocatable.cpu, '1500m');
  const host = status({});
  assert.equal(host.allocatable.cpu, String(cpus().length));
  assert.match(host.allocatable.memory, /^\d+Ki$/);
});

test('a value that is not a quantity stops the agent with the variable named', () => {
  assert.throws(() => cfgOf({ ATOLL_STANDIN_NODE_CPU: 'two' }), /ATOLL_STANDIN_NODE_CPU: "two" is not a cpu quantity/);
  assert.throws(() => cfgOf({ ATOLL_STANDIN_NODE_CPU: '0' }), /ATOLL_STANDIN_NODE_CPU/);
  assert.throws(
    () => cfgOf({ ATOLL_STANDIN_NODE_MEMORY: '4GB' }),
    /ATOLL_STANDIN_NODE_MEMORY: "4GB" is not a memory quantity/,
  );
});
