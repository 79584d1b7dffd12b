// JSON schemas of the API's responses, shared by the routes (fastify serializes with them and
// @fastify/swagger documents them). Objects whose shape belongs to another module (facts, autoheal
// records, rollouts) are open (`additionalProperties: true`): the listed fields are documented and
// typed, the rest pass through unchanged. fast-json-stringify coerces a listed field to its type
// (null to "" for a plain string), so every field that can be null says so.
import { NODE_STATES } from '../store/types.js';
import { SUPPORT_STATUSES } from '../versions/support-status.js';

type Schema = Record<string, unknown>;

export const str = { type: 'string' } as const;
export const nstr = { type: ['string', 'null'] } as const;
export const num = { type: 'number' } as const;
export const bool = { type: 'boolean' } as const;
export const strings = { type: 'array', items: str } as const;
const stringMap = { type: 'object', additionalProperties: str } as const;

/** An object with these documented fields that keeps any other field. */
export function open(properties: Record<string, unknown>, extra: Schema = {}): Schema {
  return { type: 'object', additionalProperties: true, properties, ...extra };
}

/** Like open(), or null. */
export function openOrNull(properties: Record<string, unknown>, extra: Schema = {}): Schema {
  return { ...open(properties, extra), type: ['object', 'null'] };
}

const errorSchema = open(
  {
    error: open({ code: { type: 'string', description: 'stable error code (hub/errors.ts)' }, message: str }),
  },
  { description: 'An error: {"error": {"code", "message"}}' },
);

/** The route's success responses plus the JSON error body for 4xx and 5xx. */
export function responses(ok: Record<string | number, Schema>): Record<string, unknown> {
  const described = Object.fromEntries(
    Object.entries(ok).map(([status, schema]) => [
      status,
      { description: status === '204' ? 'No content' : 'Success', ...schema },
    ]),
  );
  return { ...described, '4xx': errorSchema, '5xx': errorSchema };
}

export const noContent = { type: 'null', description: 'No content' } as const;

/** A non-JSON body (text/yaml, text/cloud-config, Prometheus text). */
export function textBody(contentType: string, description: string): Schema {
  return { description, content: { [contentType]: { schema: { type: 'string' } } } };
}

type ParamsSchema<N extends readonly string[]> = {
  type: 'object';
  required: N;
  properties: { [K in N[number]]: { type: 'string'; minLength: 1 } };
};

/** Path parameters, each a non-empty string; the names stay literal, so req.params is typed from them. */
export function params<const N extends readonly string[]>(...names: N): ParamsSchema<N> {
  const properties = Object.fromEntries(names.map((n) => [n, { type: 'string', minLength: 1 }]));
  return { type: 'object', required: names, properties: properties as ParamsSchema<N>['properties'] };
}

export const itemsOf = (item: Schema): Schema => open({ items: { type: 'array', items: item } });

export const eventSchema = open({
  id: { type: 'integer', description: 'monotonic cursor' },
  at: str,
  type: str,
  nodeId: nstr,
  pool: nstr,
  actor: str,
  message: str,
  data: open({}),
});

const usage = open({ totalBytes: num, usedBytes: num, usedPercent: num });

export const nodeSchema = open({
  id: str,
  name: str,
  pool: str,
  state: { type: 'string', enum: [...NODE_STATES] },
  reasons: strings,
  lastSeen: nstr,
  createdAt: str,
  agentVersion: str,
  connected: bool,
  connectedAt: nstr,
  remoteAddress: nstr,
  link: open(
    { flaps1h: num, lastConnectAt: nstr, lastDisconnectAt: nstr },
    {
      description:
        'the agent link: reconnects in the last hour (to the minute), when it last came up and went down (since the hub started)',
    },
  ),
  k3s: open({
    state: str,
    version: str,
    support: openOrNull(
      {
        status: { type: 'string', enum: [...SUPPORT_STATUSES] },
        minor: nstr,
        released: nstr,
        endOfMaintenance: nstr,
        endOfLife: nstr,
        daysLeft: { type: ['integer', 'null'] },
      },
      {
        description:
          "support status of the node's k3s version (as GET /v1/cluster `support`); null when the version is not known",
      },
    ),
    ready: { type: ['boolean', 'null'] },
    unschedulable: bool,
    taints: strings,
    restarts: num,
    lastLogLines: strings,
  }),
  health: openOrNull(
    {
      receivedAt: str,
      cpuPercent: num,
      memory: usage,
      disk: usage,
      load: open({ load1: num, load5: num, load15: num }),
      disks: {
        type: 'array',
        description: 'file systems of the agent\'s and k3s\'s data dirs when not "/"',
        items: open({ role: str, path: str, totalBytes: num, usedBytes: num, usedPercent: num }),
      },
      uptimeSeconds: num,
      kubeletHealthy: bool,
      clockSkewMs: num,
    },
    { description: 'the last report, null before the first' },
  ),
  certificate: openOrNull(
    { serial: str, notAfter: str, expiresInSeconds: num, expiring: bool },
    {
      description:
        'the client certificate the node uses now; expiring: within the warning window (--cert-warn-before) or expired, i.e. renewal has not happened',
    },
  ),
  labels: stringMap,
  kubeLabels: {
    ...stringMap,
    description:
      "the Kubernetes Node's labels (as kubectl sees them, including ones set with kubectl label); {} without a Kubernetes Node",
  },
  provider: {
    ...str,
    description:
      "the cloud provider named by the host's DMI (aws, gcp, azure, hetzner, ...); '' when the host does not say",
  },
  region: {
    ...str,
    description: "the node's topology.kubernetes.io/region label (atoll's, else the Kubernetes Node's); '' when none",
  },
  addresses: strings,
  facts: open({
    hostname: str,
    os: str,
    kernel: str,
    arch: str,
    cpus: num,
    memoryBytes: num,
    addresses: strings,
    bootId: str,
    provider: str,
  }),
  autoheal: openOrNull({}, { description: "the node's autoheal ladder, if any" }),
});

export const certSchema = open({
  serial: str,
  nodeId: str,
  notBefore: str,
  notAfter: str,
  fingerprint: str,
  revokedAt: nstr,
  issuedAt: str,
  usedAt: str,
});

export const switchSchema = open({ enabled: bool, paused: bool });

const poolAutohealOut = open({
  enabled: bool,
  paused: bool,
  afterRestart: str,
  afterReboot: str,
  afterReplace: str,
  maxUnhealthyPercent: num,
  hook: nstr,
  drainTimeout: str,
  replaceTimeout: str,
  provenAfter: str,
  minHealthyPeriod: str,
  cooldownMin: str,
  cooldownMax: str,
});

export const poolSchema = open({
  name: str,
  description: str,
  labels: stringMap,
  taints: strings,
  minSize: { type: 'integer' },
  maxSize: { type: 'integer' },
  autoscale: open({
    enabled: bool,
    scaleDownUtilizationThreshold: num,
    scaleDownUnneeded: str,
    scaleDownDelayAfterAdd: str,
    maxNodeProvisionTime: str,
  }),
  createdAt: str,
  updatedAt: str,
  autoheal: poolAutohealOut,
});

export const joinTokenSchema = open({
  id: str,
  pool: str,
  description: str,
  createdAt: str,
  expiresAt: str,
  maxUses: { type: ['integer', 'null'] },
  reusable: bool,
  uses: { type: 'integer' },
  revokedAt: nstr,
  createdBy: str,
  status: { type: 'string', enum: ['active', 'revoked', 'expired', 'used-up'] },
});

export const healthSampleSchema = open({ at: str, cpuPercent: num, memoryPercent: num, diskPercent: num });
