// /v1/artifacts: the k3s binaries and agent bundles the hub serves; list, and delete one (admin).
// A delete is refused while the artifact is needed (the control plane's version, a node's pinned
// version, an active rollout's target) unless ?force=true; the hub's own agent bundle never goes.
import type { RoutePlugin } from '../http/route-plugin.js';
import type { HubServices } from './services.js';
import { HubError } from '../errors.js';
import { ArtifactError } from '../artifacts/artifact-store.js';
import { ACTIVE_STATES } from '../upgrades/rollout-state.js';
import { actorOf } from './actor.js';
import { noContent, nstr, num, open, params, responses, str } from './schemas.js';

const artifactSchema = open({
  version: str,
  arch: str,
  sha256: str,
  size: num,
  inUse: { ...nstr, description: 'why deleting it needs force, or null' },
});
const agentBundleSchema = open({ version: str, sha256: str, size: num, packaged: { type: 'boolean' }, inUse: nstr });
const force = {
  type: 'object',
  additionalProperties: false,
  properties: { force: { type: 'boolean', default: false, description: 'delete although it is in use' } },
} as const;

type Usage = (version: string, arch?: string) => string | undefined;

/** Why each k3s version (per arch) or agent bundle is still needed; computed once per request. */
async function usage(svc: HubServices, kind: 'k3s' | 'agent'): Promise<Usage> {
  const active = (await svc.upgrades.list()).filter((r) => ACTIVE_STATES.has(r.state) && r.kind === kind);
  if (kind === 'agent') {
    return (v) => {
      const r = active.find((x) => x.version === v);
      return r && `rollout ${r.id} (${r.state}) installs it`;
    };
  }
  const cp = svc.controlPlane.version();
  const pinned = new Map<string, string>();
  const desired = new Map((await svc.store.listDesiredK3sVersions()).map((d) => [d.nodeId, d.version]));
  for (const n of await svc.store.listNodes()) {
    const v = desired.get(n.id);
    if (v && !pinned.has(`${v}/${n.facts.arch}`)) pinned.set(`${v}/${n.facts.arch}`, n.name);
  }
  return (v, arch) => {
    if (v === cp) return `the control plane runs ${v}: nodes that join or are replaced install it`;
    const r = active.find((x) => x.version === v);
    if (r) return `rollout ${r.id} (${r.state}) installs it`;
    const node = pinned.get(`${v}/${arch}`);
    return node ? `node ${node} runs it (a repair or reinstall downloads it again)` : undefined;
  };
}

function notFound(err: unknown): never {
  if (err instanceof ArtifactError && err.code === 'ARTIFACT_NOT_FOUND') throw new HubError('NOT_FOUND', err.message);
  throw err;
}

export const artifactApiRoutes: RoutePlugin<{ svc: HubServices }> = async (app, { svc }) => {
  app.get(
    '/v1/artifacts',
    {
      schema: {
        summary: 'Imported k3s artifacts and the agent bundles the hub serves',
        response: responses({
          200: open({
            k3s: { type: 'array', items: artifactSchema },
            agent: { type: 'array', items: agentBundleSchema },
          }),
        }),
      },
    },
    async () => {
      const k3sUse = await usage(svc, 'k3s');
      const agentUse = await usage(svc, 'agent');
      const packaged = svc.artifacts.agents.packaged()?.version;
      return {
        k3s: svc.artifacts.listK3s().map(({ version, arch, sha256, size }) => ({
          version,
          arch,
          sha256,
          size,
          inUse: k3sUse(version, arch) ?? null,
        })),
        agent: svc.artifacts.agents.list().map(({ version, sha256, size }) => {
          const own = version === packaged && !svc.artifacts.agents.isImported(version);
          return {
            version,
            sha256,
            size,
            packaged: own,
            inUse: own ? "the hub's own bundle (from its package)" : (agentUse(version) ?? null),
          };
        }),
      };
    },
  );

  app.delete(
    '/v1/artifacts/k3s/:version/:arch',
    {
      config: { permission: 'admin' },
      schema: {
        summary: 'Delete a k3s artifact (refused while needed, unless force=true)',
        params: params('version', 'arch'),
        querystring: force,
        response: responses({ 204: noContent }),
      },
    },
    async (req, reply) => {
      const { version, arch } = req.params;
      const { force: forced } = req.query;
      if (!svc.artifacts.getK3s(version, arch))
        throw new HubError('NOT_FOUND', `no k3s ${version} artifact for ${arch}`);
      const why = (await usage(svc, 'k3s'))(version, arch);
      if (why && !forced)
        throw new HubError('CONFLICT', `k3s ${version} for ${arch} is in use: ${why}; delete it anyway with force`, {
          reason: why,
        });
      let gone;
      try {
        gone = svc.artifacts.deleteK3s(version, arch);
      } catch (err) {
        notFound(err);
      }
      await svc.events.record({
        type: 'artifact.deleted',
        actor: actorOf(req),
        message: `k3s ${version} artifact for ${arch} deleted${why ? ` although in use (${why})` : ''}`,
        data: { kind: 'k3s', version, arch, sha256: gone.sha256, forced: Boolean(why) },
      });
      reply.status(204);
    },
  );

  app.delete(
    '/v1/artifacts/agent/:version',
    {
      config: { permission: 'admin' },
      schema: {
        summary:
          "Delete an imported agent bundle (the hub's own cannot be; refused while a rollout installs it, unless force=true)",
        params: params('version'),
        querystring: force,
        response: responses({ 204: noContent }),
      },
    },
    async (req, reply) => {
      const { version } = req.params;
      const { force: forced } = req.query;
      if (!svc.artifacts.agents.get(version)) throw new HubError('NOT_FOUND', `no agent bundle ${version}`);
      if (svc.artifacts.agents.packaged()?.version === version && !svc.artifacts.agents.isImported(version)) {
        throw new HubError(
          'CONFLICT',
          `agent ${version} is the hub's own bundle (from its package): it cannot be deleted`,
        );
      }
      const why = (await usage(svc, 'agent'))(version);
      if (why && !forced)
        throw new HubError('CONFLICT', `agent bundle ${version} is in use: ${why}; delete it anyway with force`, {
          reason: why,
        });
      let gone;
      try {
        gone = svc.artifacts.agents.delete(version);
      } catch (err) {
        notFound(err);
      }
      await svc.events.record({
        type: 'artifact.deleted',
        actor: actorOf(req),
        message: `agent bundle ${version} deleted${why ? ` although in use (${why})` : ''}`,
        data: { kind: 'agent', version, sha256: gone.sha256, forced: Boolean(why) },
      });
      reply.status(204);
    },
  );
};
