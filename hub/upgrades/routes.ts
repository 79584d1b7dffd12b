// /v1/upgrades (rolling k3s upgrades) and /v1/cluster/auto-upgrade (the policy and its window).
import type { RoutePlugin } from '../http/route-plugin.js';
import type { HubServices } from '../api/services.js';
import { HubError } from '../errors.js';
import { bool, itemsOf, nstr, num, open, openOrNull, params, responses, str } from '../api/schemas.js';
import { actorOf } from '../api/actor.js';
import { HALTED_ACTIONS } from './halted.js';
import { WINDOW_DAYS, validTimeZone, windowOpen } from './window.js';

const duration = { type: 'string', pattern: '^[0-9]+(ms|s|m|h)$' } as const;

const phaseRow = { from: str, phase: str, startedAt: nstr, finishedAt: nstr, message: str };
const rolloutSchema = open(
  {
    id: str,
    kind: { type: 'string', enum: ['k3s', 'agent'] },
    version: str,
    pools: { type: ['array', 'null'], items: str },
    maxUnavailable: num,
    dwellMs: num,
    verifyTimeoutMs: num,
    window: { type: 'string', enum: ['now', 'next'] },
    state: { type: 'string', enum: ['waiting-window', 'running', 'paused', 'done', 'halted', 'cancelled'] },
    message: str,
    actor: str,
    createdAt: str,
    updatedAt: str,
    finishedAt: nstr,
    dismissedAt: { ...nstr, description: 'a halted rollout an operator dismissed (no longer an active problem)' },
    dismissedBy: str,
    drain: open({ timeoutMs: num, ignoreDaemonSets: bool, deleteEmptyDirData: bool, force: bool }),
    controlPlane: openOrNull(phaseRow, {
      description: "the hub's own k3s server, upgraded first (null: already on the version, or left out)",
    }),
    nodes: {
      type: 'array',
      items: open({ id: str, name: str, pool: str, ...phaseRow, cordoned: bool, swapped: bool }),
    },
  },
  { description: 'A rollout with the progress of every node' },
);
const policySchema = open({
  enabled: bool,
  scope: { type: 'string', enum: ['patch', 'minor'] },
  windowOpen: bool,
  window: open({ day: str, startHour: num, durationHours: num, timeZone: str }),
  rollout: open({ maxUnavailable: num, dwell: str, verifyTimeout: str, drainTimeout: str }),
});

export const upgradeRoutes: RoutePlugin<{ svc: HubServices }> = async (app, { svc }) => {
  app.post(
    '/v1/upgrades',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['version'],
          properties: {
            version: { type: 'string' },
            pools: { type: 'array', items: { type: 'string' } },
            maxUnavailable: { type: 'integer', minimum: 1, maximum: 1000 },
            drain: {
              type: 'object',
              additionalProperties: false,
              properties: {
                timeout: duration,
                ignoreDaemonSets: { type: 'boolean' },
                deleteEmptyDirData: { type: 'boolean' },
                force: { type: 'boolean' },
              },
            },
            window: { type: 'string', enum: ['now', 'next'] },
            dwell: duration,
            verifyTimeout: duration,
            controlPlane: {
              type: 'boolean',
              description: "upgrade the hub's own k3s server first when it is older (default true)",
            },
          },
        },
        summary: 'Start a rolling k3s upgrade (control plane first); 409 with every refusal reason when unsafe',
        response: responses({ 201: rolloutSchema }),
      },
    },
    async (req, reply) => {
      const r = await svc.upgrades.begin(req.body, actorOf(req));
      reply.status(201);
      return r;
    },
  );

  app.post(
    '/v1/agent-upgrades',
    {
      schema: {
        description:
          'Agents upgrade themselves to an agent bundle the hub serves, maxUnavailable at a time; one that does not reach the hub in time goes back by itself and halts the rollout. Progress: GET /v1/upgrades/{id}.',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['version'],
          properties: {
            version: { type: 'string', maxLength: 64 },
            pools: { type: 'array', items: { type: 'string' } },
            maxUnavailable: { type: 'integer', minimum: 1, maximum: 1000 },
            window: { type: 'string', enum: ['now', 'next'] },
            confirmTimeout: duration,
          },
        },
        summary: 'Start an agent self-upgrade rollout',
        response: responses({ 201: rolloutSchema }),
      },
    },
    async (req, reply) => {
      const r = await svc.upgrades.beginAgent(req.body, actorOf(req));
      reply.status(201);
      return r;
    },
  );

  app.get(
    '/v1/upgrades',
    { schema: { summary: 'Rollouts, newest first', response: responses({ 200: itemsOf(rolloutSchema) }) } },
    async () => ({ items: await svc.upgrades.list() }),
  );

  app.get(
    '/v1/upgrades/:id',
    { schema: { summary: 'One rollout', params: params('id'), response: responses({ 200: rolloutSchema }) } },
    async (req) => {
      const { id } = req.params;
      const r = await svc.upgrades.get(id);
      if (!r) throw new HubError('NOT_FOUND', `rollout ${id} does not exist`);
      return r;
    },
  );

  app.post(
    '/v1/upgrades/:id/cancel',
    {
      schema: {
        summary: 'Cancel a rollout before its next node (a node in progress finishes)',
        params: params('id'),
        response: responses({ 200: rolloutSchema }),
      },
    },
    async (req) => {
      const { id } = req.params;
      return svc.upgrades.cancel(id, actorOf(req));
    },
  );

  const haltedSummary = {
    resume:
      'Resume a halted rollout from the step each node stopped at (a failed node stays failed; refused when the control plane failed)',
    retry: 'Retry what failed in a halted rollout (the control plane or nodes start over), then go on',
    dismiss: 'Dismiss a halted rollout: it stays halted but is no longer an active problem',
  } as const;
  for (const action of HALTED_ACTIONS) {
    app.post(
      `/v1/upgrades/:id/${action}`,
      { schema: { summary: haltedSummary[action], params: params('id'), response: responses({ 200: rolloutSchema }) } },
      async (req) => {
        const { id } = req.params;
        return svc.upgrades.actOnHalted(id, action, actorOf(req));
      },
    );
  }

  app.get(
    '/v1/cluster/auto-upgrade',
    {
      schema: {
        summary: 'The auto-upgrade policy and whether its window is open now',
        response: responses({ 200: policySchema }),
      },
    },
    async () => {
      const p = await svc.upgrades.policy.get();
      return { ...p, windowOpen: windowOpen(p.window) };
    },
  );

  app.put(
    '/v1/cluster/auto-upgrade',
    {
      schema: {
        summary: 'Set the auto-upgrade policy: on/off, window, scope, rollout settings',
        response: responses({ 200: policySchema }),
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: {
            enabled: { type: 'boolean' },
            scope: { type: 'string', enum: ['patch', 'minor'] },
            window: {
              type: 'object',
              additionalProperties: false,
              properties: {
                day: { type: 'string', enum: [...WINDOW_DAYS] },
                startHour: { type: 'integer', minimum: 0, maximum: 23 },
                durationHours: { type: 'number', exclusiveMinimum: 0, maximum: 168 },
                timeZone: { type: 'string' },
              },
            },
            rollout: {
              type: 'object',
              additionalProperties: false,
              description: 'how automatic rollouts run (defaults as for POST /v1/upgrades)',
              properties: {
                maxUnavailable: { type: 'integer', minimum: 1, maximum: 1000 },
                dwell: duration,
                verifyTimeout: duration,
                drainTimeout: duration,
              },
            },
          },
        },
      },
    },
    async (req) => {
      const body = req.body;
      if (body.window?.timeZone !== undefined && !validTimeZone(body.window.timeZone))
        throw new HubError('VALIDATION', `unknown time zone "${body.window.timeZone}"`);
      const next = await svc.upgrades.policy.set(body);
      const w = next.window;
      await svc.events.record({
        type: 'upgrade.policy',
        actor: actorOf(req),
        message: `auto-upgrade ${next.enabled ? 'on' : 'off'}, scope ${next.scope}, window ${w.day} ${w.startHour}:00 for ${w.durationHours}h ${w.timeZone}`,
        data: { ...next },
      });
      return { ...next, windowOpen: windowOpen(next.window) };
    },
  );
};
