// POST /v1/agent/leave: a node's uninstall script says the node is leaving. The node's own client
// certificate is the only credential; the hub then removes the node as DELETE /v1/nodes/{id} does
// (out of the cluster, certificates revoked, link closed).
// GET /v1/agent/whoami: whether the hub still accepts a node's identity (200 with its id; 401 or 403
// with the reason otherwise). `atoll-agent join` asks before it keeps an identity it already has.
import type { FastifyPluginAsync } from 'fastify';
import type { EventLog } from '../events.js';
import { HubError } from '../errors.js';

export interface LeaveRouteOptions {
  verifyClient: (req: { socket: unknown }) => Promise<string>;
  removeNode: (id: string, actor: string) => Promise<boolean>;
  events?: EventLog;
}

export const leaveRoute: FastifyPluginAsync<LeaveRouteOptions> = async (app, opts) => {
  // curl -X POST sends no body; wget --post-data='' sends an empty form. Neither carries anything.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 1024 }, (_req, _body, done) => done(null, undefined));

  app.get('/v1/agent/whoami', { config: { access: 'node' } }, async (req) => ({
    nodeId: await opts.verifyClient(req.raw),
  }));

  app.post('/v1/agent/leave', { config: { access: 'node' } }, async (req) => {
    const nodeId = await opts.verifyClient(req.raw);
    const actor = `node:${nodeId}`;
    await opts.events?.note({
      type: 'node.leaving',
      nodeId,
      actor,
      message: `node ${nodeId} is leaving (its uninstall script asked, from ${req.socket.remoteAddress ?? 'unknown'})`,
    });
    const removed = await opts.removeNode(nodeId, actor);
    if (!removed) throw new HubError('NOT_FOUND', `node ${nodeId} is already gone`);
    return { nodeId, removed: true };
  });
};
