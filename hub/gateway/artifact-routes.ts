// GET /v1/artifacts/k3s/{version}/{arch}: k3s binaries for enrolled nodes (client certificate
// required), with their SHA-256 in a header; GET /v1/artifacts/index.json lists what is there.
import { createReadStream } from 'node:fs';
import type { FastifyPluginAsync } from 'fastify';
import { ARCHES, isArch, isK3sVersion, type ArtifactStore } from '../artifacts/artifact-store.js';
import { HubError } from '../errors.js';

/** The path parameters of the download route (no schema: the handler checks the values). */
type K3sRoute = { Params: { version: string; arch: string } };

export const artifactRoutes: FastifyPluginAsync<{
  artifacts: ArtifactStore;
  verifyClient: (req: { socket: unknown }) => Promise<string>;
  downloaded?: (nodeId: string, what: string) => void;
}> = async (app, opts) => {
  app.get('/v1/artifacts/index.json', { config: { access: 'node' } }, async (req) => {
    await opts.verifyClient(req.raw);
    return {
      k3s: opts.artifacts
        .listK3s()
        .map(({ version, arch, sha256, size, urlPath }) => ({ version, arch, sha256, size, url: urlPath })),
    };
  });

  app.get<K3sRoute>('/v1/artifacts/k3s/:version/:arch', { config: { access: 'node' } }, async (req, reply) => {
    const nodeId = await opts.verifyClient(req.raw);
    const { version, arch } = req.params;
    if (!isK3sVersion(version)) throw new HubError('VALIDATION', `"${version}" is not a k3s version like v1.31.4+k3s1`);
    if (!isArch(arch)) throw new HubError('VALIDATION', `arch "${arch}" is not one of ${ARCHES.join(', ')}`);
    const a = opts.artifacts.getK3s(version, arch);
    if (!a) throw new HubError('NOT_FOUND', `no k3s ${version} for ${arch} on this hub`);
    opts.downloaded?.(nodeId, `k3s ${version} ${arch}`);
    reply.header('content-type', 'application/octet-stream');
    reply.header('content-length', a.size);
    reply.header('x-checksum-sha256', a.sha256);
    return reply.send(createReadStream(a.path));
  });
};
