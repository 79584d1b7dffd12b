// /v1/nodes: the registry as operators see it, node removal, and node actions.
import type { RoutePlugin } from '../http/route-plugin.js';
import type { HubServices } from './services.js';
import { HubError } from '../errors.js';
import { nodeView } from '../nodes/node-view.js';
import { supportOf } from './versions.js';
import { actorOf } from './actor.js';
import {
  bool,
  certSchema,
  itemsOf,
  noContent,
  nodeSchema,
  open,
  openOrNull,
  params,
  responses,
  str,
  switchSchema,
} from './schemas.js';
import { waitOf } from './wait-param.js';

export const NODE_ACTIONS = ['cordon', 'uncordon', 'restart-k3s', 'reboot', 'remediate', 'clear-attention'] as const;
const COMMAND_TIMEOUT_MS = 60_000;

export const nodeRoutes: RoutePlugin<{ svc: HubServices }> = async (app, { svc }) => {
  app.get(
    '/v1/nodes',
    {
      schema: {
        summary: 'List nodes, optionally of one pool or in one state',
        querystring: { type: 'object', properties: { pool: { type: 'string' }, state: { type: 'string' } } },
        response: responses({ 200: itemsOf(nodeSchema) }),
      },
    },
    async (req) => {
      const q = req.query;
      const nodes = (await svc.store.listNodes()).filter(
        (n) => (!q.pool || n.pool === q.pool) && (!q.state || n.state === q.state),
      );
      return {
        items: nodes.map((n) => ({
          ...nodeView(n, svc.registry, svc.certs.status(n.id) ?? null, supportOf(svc)),
          autoheal: svc.autoheal.cached(n.id) ?? null,
        })),
      };
    },
  );

  app.get(
    '/v1/nodes/:id',
    {
      schema: {
        summary: 'One node, with its autoheal record and switch and its certificates',
        params: params('id'),
        response: responses({
          200: open({
            ...(nodeSchema.properties as object),
            autohealSwitch: switchSchema,
            certificates: { type: 'array', items: certSchema },
          }),
        }),
      },
    },
    async (req) => {
      const { id } = req.params;
      const n = await svc.store.getNode(id);
      if (!n) throw new HubError('NOT_FOUND', `node ${id} does not exist`);
      return {
        ...nodeView(n, svc.registry, svc.certs.status(n.id) ?? null, supportOf(svc)),
        autoheal: (await svc.autoheal.record(id)) ?? null,
        autohealSwitch: await svc.autohealSettings.node(id),
        certificates: await svc.store.listCerts(id),
      };
    },
  );

  app.patch(
    '/v1/nodes/:id',
    {
      schema: {
        summary: 'Node settings: autoheal on/off and paused for this node',
        params: params('id'),
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['autoheal'],
          properties: {
            autoheal: {
              type: 'object',
              additionalProperties: false,
              minProperties: 1,
              properties: { enabled: { type: 'boolean' }, paused: { type: 'boolean' } },
            },
          },
        },
        response: responses({ 200: open({ ...(nodeSchema.properties as object), autohealSwitch: switchSchema }) }),
      },
    },
    async (req) => {
      const { id } = req.params;
      const n = await svc.store.getNode(id);
      if (!n) throw new HubError('NOT_FOUND', `node ${id} does not exist`);
      const sw = await svc.autohealSettings.setNode(id, req.body.autoheal);
      await svc.events.record({
        type: 'autoheal.settings',
        nodeId: id,
        pool: n.pool,
        actor: actorOf(req),
        message: `autoheal ${sw.enabled ? 'on' : 'off'}${sw.paused ? ', paused' : ''} for ${n.name}`,
        data: { ...sw },
      });
      return { ...nodeView(n, svc.registry, svc.certs.status(n.id) ?? null, supportOf(svc)), autohealSwitch: sw };
    },
  );

  app.delete(
    '/v1/nodes/:id',
    {
      schema: {
        summary: 'Drain and remove a node; its certificates are revoked',
        params: params('id'),
        response: responses({ 204: noContent }),
      },
    },
    async (req, reply) => {
      const { id } = req.params;
      if (!(await svc.removeNode(id, actorOf(req)))) throw new HubError('NOT_FOUND', `node ${id} does not exist`);
      reply.status(204);
    },
  );

  const commandSchema = open({
    id: str,
    nodeId: str,
    action: str,
    args: open({}),
    actor: str,
    state: { type: 'string', enum: ['pending', 'done', 'expired'] },
    createdAt: str,
    expiresAt: str,
    sentCount: { type: 'integer' },
    result: openOrNull({ ok: bool, errorCode: str, message: str, at: str }),
  });

  app.get(
    '/v1/nodes/:id/commands',
    {
      schema: {
        summary: "A node's commands, newest first (durable: pending until the agent's result is stored, or expired)",
        params: params('id'),
        querystring: {
          type: 'object',
          properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
        },
        response: responses({ 200: itemsOf(commandSchema) }),
      },
    },
    async (req) => {
      const { id } = req.params;
      return { items: await svc.store.listCommands(id, req.query.limit) };
    },
  );

  app.get(
    '/v1/nodes/:id/commands/:commandId',
    {
      schema: {
        summary: 'One command of a node, with its result once the agent answered',
        params: params('id', 'commandId'),
        response: responses({ 200: commandSchema }),
      },
    },
    async (req) => {
      const { id, commandId } = req.params;
      const c = await svc.store.getCommand(commandId);
      if (!c || c.nodeId !== id) throw new HubError('NOT_FOUND', `node ${id} has no command ${commandId}`);
      return c;
    },
  );

  app.post(
    '/v1/nodes/:id/actions/:action',
    {
      schema: {
        summary: `Act on a node: ${NODE_ACTIONS.join(', ')}`,
        description:
          'restart-k3s and reboot are durable commands: stored first, re-sent on reconnect until the result is stored or they expire. ' +
          'wait: how long to wait for the result (default and at most 60s); 0 answers 202 with the commandId at once.',
        params: {
          ...params('id', 'action'),
          properties: {
            id: { type: 'string', minLength: 1 },
            action: { type: 'string', description: `one of ${NODE_ACTIONS.join(', ')}` },
          },
        },
        querystring: { type: 'object', properties: { wait: { type: 'string', pattern: '^[0-9]+(ms|s|m)?$' } } },
        response: responses({
          200: open({ action: str, nodeId: str, commandId: str, ok: bool, message: str }),
          202: open({ action: str, nodeId: str, commandId: str, state: str }),
        }),
      },
    },
    async (req, reply) => {
      const { id, action } = req.params;
      const waitText = req.query.wait;
      const waitMs = waitText === undefined ? COMMAND_TIMEOUT_MS : Math.min(COMMAND_TIMEOUT_MS, waitOf(waitText));
      if (!(NODE_ACTIONS as readonly string[]).includes(action)) {
        throw new HubError('NOT_FOUND', `unknown action "${action}" (one of ${NODE_ACTIONS.join(', ')})`);
      }
      const node = await svc.store.getNode(id);
      if (!node) throw new HubError('NOT_FOUND', `node ${id} does not exist`);
      const actor = actorOf(req);
      const audit = async (result: string, message: string): Promise<void> => {
        await svc.events.record({
          type: 'admin.action',
          nodeId: id,
          pool: node.pool,
          actor,
          message: `${action} on ${node.name}: ${message}`,
          data: { action, result },
        });
      };
      if (action === 'cordon' || action === 'uncordon') {
        const kube = svc.controlPlane.client();
        if (!kube) {
          const cluster = svc.cluster();
          await audit('refused', `needs a running control plane (it is ${cluster.state})`);
          throw new HubError('CONFLICT', `${action} needs a running control plane; it is ${cluster.state}`);
        }
        if (!(await kube.getNode(node.name))) {
          await audit('refused', 'not a Kubernetes node yet');
          throw new HubError('CONFLICT', `${node.name} is not a Kubernetes node (yet)`);
        }
        await (action === 'cordon' ? kube.cordon(node.name) : kube.uncordon(node.name));
        // Uncordoning a node autoheal handed over also takes it out of needs-attention.
        const cleared =
          action === 'uncordon' && svc.registry.snapshotOf(id)?.state === 'needs-attention'
            ? await svc.autoheal.clearAttention(id, actor)
            : undefined;
        await audit('ok', cleared ? `done; ${cleared.message}` : 'done');
        return {
          action,
          nodeId: id,
          ok: true,
          message: `${node.name} ${action === 'cordon' ? 'cordoned' : 'uncordoned'}${cleared ? `; ${cleared.message}` : ''}`,
        };
      }
      if (action === 'remediate') {
        const decision = await svc.autoheal.remediateNow(id, actor);
        await audit('ok', decision);
        return { action, nodeId: id, ok: true, message: decision };
      }
      if (action === 'clear-attention') {
        const r = await svc.autoheal.clearAttention(id, actor);
        await audit(r.cleared ? 'ok' : 'refused', r.message);
        if (!r.cleared) throw new HubError('CONFLICT', r.message);
        return { action, nodeId: id, ok: true, message: r.message };
      }
      // Several hubs: an agent connected to another hub gets the command from there (cluster/command-relay.ts).
      const link = svc.registry.link(id) ?? (await svc.hubs?.heldElsewhere(id));
      if (!link) {
        await audit('refused', 'the agent is not connected');
        throw new HubError('NODE_OFFLINE', `node ${node.name} is not connected; ${action} needs its agent`);
      }
      const cmd = await svc.commands.issue(id, action, {}, actor);
      if (waitMs === 0) {
        await audit('sent', `command ${cmd.id} stored and sent`);
        reply.status(202);
        return { action, nodeId: id, commandId: cmd.id, state: 'pending' };
      }
      const outcome = await svc.commands.wait(cmd.id, waitMs);
      await audit(
        outcome.ok ? 'ok' : 'failed',
        outcome.ok ? `done (${cmd.id})` : `${outcome.errorCode}: ${outcome.message}`,
      );
      if (!outcome.ok) {
        const code =
          outcome.errorCode === 'COMMAND_TIMEOUT'
            ? 'COMMAND_TIMEOUT'
            : outcome.errorCode === 'NODE_OFFLINE'
              ? 'NODE_OFFLINE'
              : 'CONFLICT';
        throw new HubError(
          code,
          `${action} failed on ${node.name} (command ${cmd.id}): ${outcome.errorCode} ${outcome.message}`.trim(),
          { commandId: cmd.id },
        );
      }
      return { action, nodeId: id, commandId: cmd.id, ok: true, message: outcome.message };
    },
  );
};
