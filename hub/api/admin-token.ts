// POST /v1/admin-token/rotate (admin only): a new admin token in place of the current one, which is
// refused from the answer on (on every hub of a cluster within seconds; cluster/admin-token.ts). The
// new token is never sent: it is in the hub's <data-dir>/admin-token, for whoever may read that file.
import type { FastifyPluginAsync } from 'fastify';
import type { HubServices } from './services.js';
import type { AdminToken } from '../cluster/admin-token.js';
import { actorOf } from './actor.js';
import { HubError } from '../errors.js';
import { open, responses, str } from './schemas.js';

const rotationSchema = open({
  path: { type: 'string', description: "the hub's admin-token file, which now holds the new token" },
  rotatedAt: str,
  scope: {
    type: 'string',
    enum: ['hub', 'cluster'],
    description: 'cluster: every hub on this datastore takes the new token (each writes its own file); hub: this hub',
  },
});

export const adminTokenRoutes: FastifyPluginAsync<{ svc: HubServices; adminToken: AdminToken }> = async (
  app,
  { svc, adminToken },
) => {
  app.post(
    '/v1/admin-token/rotate',
    {
      schema: {
        summary: 'Replace the admin token with a new random one (admin); the old one is refused at once',
        description:
          "The new token is written (0600) to the hub's <data-dir>/admin-token and never sent. On PostgreSQL it is " +
          'stored sealed for every hub, which each write it to their own file and refuse the old one within seconds. ' +
          'Event streams opened with the old token end within a second.',
        response: responses({ 200: rotationSchema }),
      },
    },
    async (req) => {
      const r = await adminToken.rotate();
      const unwritten = r.fileError
        ? `; but this hub could not write ${r.path} (${r.fileError}): the new token is in the other hubs' files, and this hub writes its file again every few seconds`
        : '';
      // Done already: a store that cannot take the event is logged, the answer (it worked) still goes out.
      await svc.events
        .record({
          type: 'admin-token.rotated',
          actor: actorOf(req),
          message:
            (r.scope === 'cluster'
              ? `the admin token was rotated (every hub of the cluster); the new one is in ${r.path} on this hub and in each hub's own data dir`
              : `the admin token was rotated; the new one is in ${r.path}`) + unwritten,
          data: { path: r.path, scope: r.scope, ...(r.fileError ? { fileError: r.fileError } : {}) },
        })
        .catch((err: unknown) =>
          req.log.error({ err: (err as Error).message }, 'could not record the admin-token.rotated event'),
        );
      // Rotated all the same (the old token is refused everywhere): the caller is told its file is not there.
      if (r.fileError)
        throw new HubError(
          /ENOSPC/.test(r.fileError) ? 'DISK_FULL' : 'INTERNAL',
          `the admin token was rotated${unwritten}`,
          {
            path: r.path,
            scope: r.scope,
          },
        );
      return r;
    },
  );
};
