// GET /v1/pools/{pool}/cloud-init: a #cloud-config document that joins a new server to the pool
// with a fresh single-use token. Filled in by the installer work (issue 4).
import type { FastifyPluginAsync } from 'fastify';
import type { HubServices } from './services.js';
import { HubError } from '../errors.js';

export const cloudInitRoutes: FastifyPluginAsync<{ svc: HubServices }> = async (app) => {
  app.get('/v1/pools/:pool/cloud-init', async () => {
    throw new HubError('NOT_FOUND', 'cloud-init documents are not available yet');
  });
};
