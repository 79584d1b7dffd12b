// /v1/cluster: control plane state and node counts by state.
import type { RoutePlugin } from '../http/route-plugin.js';
import type { HubServices } from './services.js';
import { HubError } from '../errors.js';
import { formatDuration } from '../duration.js';
import { NODE_STATES } from '../store/types.js';
import { artifactApiRoutes } from './artifacts.js';
import { versionSupportSchema } from './versions.js';
import { supportMessage } from '../versions/support-status.js';
import { bool, nstr, num, open, openOrNull, responses, str, strings, switchSchema, textBody } from './schemas.js';

const cpState = { type: 'string', enum: ['running', 'starting', 'failed', 'absent'] };
const controlPlane = open({
  state: cpState,
  version: nstr,
  message: str,
  restarts: num,
  since: str,
  lastLogLines: strings,
  serverUrl: nstr,
  nextRetryAt: { ...nstr, description: 'in failed: when the hub starts its k3s server again by itself' },
  node: openOrNull(
    {
      name: str,
      ready: { type: ['boolean', 'null'] },
      unschedulable: bool,
      taints: strings,
      labels: { type: 'object', additionalProperties: { type: 'string' } },
      kubeletVersion: str,
    },
    {
      description:
        "the hub's own k3s node: shown, never managed by atoll (no agent runs there); tainted node-role.kubernetes.io/control-plane:NoSchedule unless --control-plane-schedulable; null with --disable-agent or while the control plane is not running",
    },
  ),
});
const guard = open({ frozen: bool }, { description: 'the autoheal partition guard' });
const clockSchema = openOrNull(
  {
    hubSkewMs: {
      type: ['number', 'null'],
      description:
        "the hub's own clock minus its agents' (median) when most of them disagree with it by more than 2 min",
    },
    agents: num,
    disagreeing: num,
    holding: openOrNull(
      { offsetMs: num, since: str, until: str },
      { description: "a step of the hub's own clock is settling: autoheal holds" },
    ),
  },
  { description: "the hub's clock, judged against its agents and its monotonic clock" },
);
const clusterSchema = open({
  controlPlane,
  state: cpState,
  message: str,
  version: nstr,
  support: {
    ...versionSupportSchema,
    properties: { ...(versionSupportSchema.properties as object), message: str },
    description: `the control plane's k3s version: ${String(versionSupportSchema.description)}`,
  },
  hubVersion: str,
  publicUrl: str,
  servingPin: {
    type: 'string',
    description: "curl --pinnedpubkey value (sha256//base64) of the hub's serving key, as install lines carry it",
  },
  nodes: open({ total: num, connected: num, byState: { type: 'object', additionalProperties: num } }),
  autoheal: open({ enabled: bool, paused: bool, guard }),
  events: open(
    {
      retention: open(
        { maxAge: str, maxAgeMs: num, maxCount: num },
        { description: 'events past either bound are pruned (--events-max-age, --events-max-count)' },
      ),
      count: num,
      oldestAt: nstr,
    },
    { description: 'the event log: how much is kept, how much is stored' },
  ),
  clock: clockSchema,
  upgrades: openOrNull(
    {
      current: nstr,
      available: {
        type: 'array',
        items: open({ version: str, kind: { type: 'string', enum: ['patch', 'minor'] }, arches: strings }),
      },
      endOfSupport: nstr,
      agents: open(
        {
          latest: nstr,
          available: strings,
          running: { type: 'array', items: open({ version: str, nodes: num }) },
          skew: bool,
          behind: num,
        },
        { description: 'agent versions: the bundles the hub serves and what the nodes run' },
      ),
    },
    { description: 'available k3s and agent upgrades; null when upgrades are not set up' },
  ),
});

function cpSupport(svc: HubServices, version: string | null) {
  if (!svc.versionSupport || !version) return null;
  const s = svc.versionSupport.status(version);
  return { ...s, message: supportMessage('k3s', s) };
}

export const clusterRoutes: RoutePlugin<{ svc: HubServices }> = async (app, { svc }) => {
  app.get(
    '/v1/cluster',
    {
      schema: {
        summary: 'Control plane state, node counts by state, autoheal and upgrades',
        response: responses({ 200: clusterSchema }),
      },
    },
    async () => {
      const counts: Record<string, number> = Object.fromEntries(NODE_STATES.map((s) => [s, 0]));
      const nodes = await svc.store.listNodes();
      for (const n of nodes) counts[n.state] = (counts[n.state] ?? 0) + 1;
      const cp = svc.cluster();
      return {
        controlPlane: cp,
        state: cp.state,
        message: cp.message,
        version: cp.version,
        support: cpSupport(svc, cp.version),
        hubVersion: svc.hubVersion,
        publicUrl: svc.config.publicUrl,
        servingPin: svc.servingPin,
        nodes: { total: nodes.length, connected: svc.registry.connectedCount(), byState: counts },
        autoheal: { ...(await svc.autohealSettings.cluster()), guard: svc.autoheal.guardState() },
        events: {
          retention: {
            maxAge: formatDuration(svc.config.eventsMaxAgeMs),
            maxAgeMs: svc.config.eventsMaxAgeMs,
            maxCount: svc.config.eventsMaxCount,
          },
          ...(await svc.store.eventStats()),
        },
        clock: svc.clockStatus?.() ?? null,
        upgrades: { ...svc.upgrades.versionInfo(), agents: await svc.upgrades.agentVersions() },
      };
    },
  );

  app.put(
    '/v1/cluster/autoheal',
    {
      schema: {
        summary: 'Turn autoheal on or off, or pause it, for the whole cluster',
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: { enabled: { type: 'boolean' }, paused: { type: 'boolean' } },
        },
        response: responses({ 200: open({ ...(switchSchema.properties as object), guard }) }),
      },
    },
    async (req) => {
      const body = req.body;
      const next = await svc.autohealSettings.setCluster(body);
      await svc.events.record({
        type: 'autoheal.settings',
        actor: req.actor?.id ?? 'anonymous',
        message: `cluster autoheal ${next.enabled ? 'on' : 'off'}${next.paused ? ', paused' : ''}`,
        data: { ...next },
      });
      return { ...next, guard: svc.autoheal.guardState() };
    },
  );

  app.post(
    '/v1/cluster/actions/restart-control-plane',
    {
      schema: {
        summary: "Restart the hub's k3s server now (admin)",
        description:
          'Stops the k3s server and starts it again, looking for the binary afresh when none was usable; ' +
          'the automatic retry backoff of a failed server starts over. 409 when the control plane is off (--k3s off).',
        response: responses({ 200: controlPlane }),
      },
    },
    async (req) => {
      const actor = req.actor?.id ?? 'anonymous';
      const before = svc.cluster();
      try {
        await svc.controlPlane.restart();
      } catch (err) {
        await svc.events.record({
          type: 'admin.action',
          actor,
          message: `restart-control-plane refused: ${(err as Error).message}`,
          data: { action: 'restart-control-plane', result: 'refused' },
        });
        throw new HubError('CONFLICT', `cannot restart the control plane: ${(err as Error).message}`);
      }
      const after = svc.cluster();
      await svc.events.record({
        type: 'admin.action',
        actor,
        message: `restart-control-plane: ${before.state} -> ${after.state}`,
        data: { action: 'restart-control-plane', result: 'ok', from: before.state, to: after.state },
      });
      return after;
    },
  );

  app.get(
    '/v1/cluster/kubeconfig',
    {
      schema: {
        summary: 'The admin kubeconfig of the control plane (404 when absent)',
        response: responses({ 200: textBody('application/yaml', 'a kubeconfig document') }),
      },
    },
    async (req, reply) => {
      const kubeconfig = svc.controlPlane.kubeconfig();
      if (!kubeconfig) throw new HubError('NOT_FOUND', `no kubeconfig: the control plane is ${svc.cluster().state}`);
      await svc.events.record({
        type: 'admin.kubeconfig',
        actor: req.actor?.id ?? 'anonymous',
        message: 'admin kubeconfig downloaded',
      });
      reply.type('application/yaml');
      return kubeconfig;
    },
  );

  await app.register(artifactApiRoutes, { svc });
};
