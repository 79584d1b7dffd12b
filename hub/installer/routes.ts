// Gateway routes for new servers, without a client certificate (public: the installer checks every
// file against listings it fetches over TLS pinned to the hub CA): the curl-pipe installer, the
// agent bundle and Node.js runtimes. Plus POST /v1/agent/leave, where a node's uninstall script,
// authenticated by the node's client certificate, tells the hub the node is leaving.
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { EventLog } from '../events.js';
import type { Store } from '../store/types.js';
import { HubError } from '../errors.js';
import { createRateLimiter } from '../gateway/rate-limit.js';
import { packagePaths, type PackagePaths } from './package-files.js';
import { renderInstallScript } from './install-script.js';
import { NodeRuntimes, readAgentBundle, type AgentBundle } from './served-artifacts.js';
import { leaveRoute } from './leave-route.js';

export interface InstallerRouteOptions {
  /** Hub data dir (artifacts/node/ may hold an operator's Node.js runtimes). */
  dataDir: string;
  /** The gateway URL agents use (install.sh's default hub URL when the request names no host). */
  publicUrl: string;
  caPem: string;
  hubVersion?: string;
  /** Download events (with the token or node id). */
  events?: EventLog;
  store?: Pick<Store, 'getToken'>;
  /** The node id of a verified client certificate, else throws (as the gateway checks it). */
  verifyClient?: (req: { socket: unknown }) => Promise<string>;
  /** Removes a node as DELETE /v1/nodes/{id} does; enables POST /v1/agent/leave. */
  removeNode?: (id: string, actor: string) => Promise<boolean>;
  /** Where deploy/ and dist/artifacts/ are (default: this package). */
  paths?: PackagePaths;
  /** Agent bundles by version (imported ones too, for self-upgrades); default: only the package's. */
  agentBundle?: (version: string) => AgentBundle | undefined;
}

const HOST_RE = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;
const TOKEN_ID_RE = /^[a-z0-9]{8}$/;

/** The path parameters of the download routes (no schema: the handlers check the values). */
type AgentRoute = { Params: { version: string } };
type RuntimeRoute = { Params: { version: string; arch: string } };

export const installerRoutes: FastifyPluginAsync<InstallerRouteOptions> = async (app, opts) => {
  const paths = opts.paths ?? packagePaths();
  const runtimes = new NodeRuntimes([
    { dir: join(opts.dataDir, 'artifacts', 'node'), source: 'data-dir' },
    { dir: paths.nodeArtifactsDir, source: 'package' },
  ]);
  const version = opts.hubVersion ?? '0.0.0';
  // Download events are best effort and bounded: past this rate per source they are only logged.
  const eventLimiter = createRateLimiter({ perMinute: 30 });

  /** The URL the script was fetched from: its default hub URL. */
  const servedFrom = (req: FastifyRequest): string => {
    const host = req.headers.host;
    return host && HOST_RE.test(host) ? `https://${host}` : opts.publicUrl;
  };

  const noteDownload = async (req: FastifyRequest, what: string, data: Record<string, unknown>): Promise<void> => {
    const source = req.socket.remoteAddress ?? 'unknown';
    let nodeId: string | undefined;
    if (
      opts.verifyClient &&
      (req.socket as { getPeerCertificate?: () => { raw?: Buffer } }).getPeerCertificate?.()?.raw
    ) {
      nodeId = await opts.verifyClient(req.raw).catch(() => undefined);
    }
    const header = req.headers['x-atoll-token-id'];
    const claimed = typeof header === 'string' && TOKEN_ID_RE.test(header) ? header : undefined;
    const tokenId =
      claimed && opts.store && (await opts.store.getToken(claimed).catch(() => undefined)) ? claimed : undefined;
    const actor = nodeId ? `node:${nodeId}` : tokenId ? `token:${tokenId}` : `ip:${source}`;
    app.log.info({ what, actor, source, ...data }, 'artifact download');
    if (!opts.events || eventLimiter.take(source) !== true) return;
    const by = nodeId ? `node ${nodeId}` : tokenId ? `the holder of token ${tokenId}` : source;
    await opts.events.note({
      type: 'artifact.downloaded',
      nodeId,
      actor,
      message: `${what} downloaded by ${by} from ${source}`,
      data: { ...data, tokenId: tokenId ?? null, source },
    });
  };

  const sendFile = (reply: FastifyReply, path: string, size: number, sha256: string, type: string): FastifyReply => {
    reply.header('content-type', type);
    reply.header('content-length', size);
    reply.header('x-checksum-sha256', sha256);
    reply.header('cache-control', 'no-store');
    return reply.send(createReadStream(path));
  };

  app.get('/install.sh', { config: { access: 'public' } }, async (req, reply) => {
    const hubUrl = servedFrom(req);
    let script: string;
    try {
      script = renderInstallScript({ deployDir: paths.deployDir, hubUrl, version });
    } catch (err) {
      app.log.error({ err }, 'cannot render install.sh');
      throw new HubError('INTERNAL', `install.sh is not available: ${(err as Error).message}`);
    }
    app.log.info({ source: req.socket.remoteAddress, hubUrl }, 'install.sh served');
    reply.type('text/x-shellscript; charset=utf-8');
    reply.header('cache-control', 'no-store');
    return script;
  });

  app.get('/v1/artifacts/agent/index.txt', { config: { access: 'public' } }, async (_req, reply) => {
    const b = readAgentBundle(paths.agentArtifactsDir);
    reply.type('text/plain; charset=utf-8');
    reply.header('cache-control', 'no-store');
    // Fields: name version sha256 size path. Empty when the hub has no bundle (the script says so).
    return b ? `atoll-agent ${b.version} ${b.sha256} ${b.size} ${b.urlPath}\n` : '';
  });

  const agentFile = (version: string): AgentBundle => {
    const imported = opts.agentBundle?.(version);
    if (imported) return imported;
    const b = readAgentBundle(paths.agentArtifactsDir);
    if (!b) throw new HubError('NOT_FOUND', 'this hub has no agent bundle (npm ci on the hub builds it)');
    if (b.version !== version)
      throw new HubError(
        'NOT_FOUND',
        `this hub serves agent ${b.version}, not ${version} (atoll-hub artifact import agent --version ${version} --file F)`,
      );
    return b;
  };

  app.get<AgentRoute>(
    '/v1/artifacts/agent/:version/atoll-agent.mjs',
    { config: { access: 'public' } },
    async (req, reply) => {
      const b = agentFile(req.params.version);
      await noteDownload(req, `agent ${b.version}`, { artifact: 'agent', version: b.version, sha256: b.sha256 });
      return sendFile(reply, b.path, b.size, b.sha256, 'text/javascript; charset=utf-8');
    },
  );

  app.get<AgentRoute>(
    '/v1/artifacts/agent/:version/atoll-agent.mjs.sha256',
    { config: { access: 'public' } },
    async (req, reply) => {
      const b = agentFile(req.params.version);
      reply.type('text/plain; charset=utf-8');
      return `${b.sha256}  atoll-agent.mjs\n`;
    },
  );

  app.get('/v1/artifacts/node/index.txt', { config: { access: 'public' } }, async (_req, reply) => {
    const list = await runtimes.list();
    reply.type('text/plain; charset=utf-8');
    reply.header('cache-control', 'no-store');
    // Fields: kind version arch sha256 size path; the preferred runtime for an arch comes first.
    return list.map((r) => `node ${r.version} ${r.arch} ${r.sha256} ${r.size} ${r.urlPath}\n`).join('');
  });

  const runtimeFile = async (
    req: FastifyRequest<RuntimeRoute>,
  ): Promise<NonNullable<Awaited<ReturnType<NodeRuntimes['get']>>>> => {
    const { version, arch } = req.params;
    const r = await runtimes.get(version, arch);
    if (!r) throw new HubError('NOT_FOUND', `no Node.js ${version} runtime for ${arch} on this hub`);
    return r;
  };

  app.get<RuntimeRoute>(
    '/v1/artifacts/node/:version/:arch/node.tgz',
    { config: { access: 'public' } },
    async (req, reply) => {
      const r = await runtimeFile(req);
      await noteDownload(req, `Node.js ${r.version} for ${r.arch}`, {
        artifact: 'node',
        version: r.version,
        arch: r.arch,
        sha256: r.sha256,
      });
      return sendFile(reply, r.path, r.size, r.sha256, 'application/gzip');
    },
  );

  app.get<RuntimeRoute>(
    '/v1/artifacts/node/:version/:arch/node.tgz.sha256',
    { config: { access: 'public' } },
    async (req, reply) => {
      const r = await runtimeFile(req);
      reply.type('text/plain; charset=utf-8');
      return `${r.sha256}  node.tgz\n`;
    },
  );

  if (opts.verifyClient && opts.removeNode) {
    await app.register(leaveRoute, {
      verifyClient: opts.verifyClient,
      removeNode: opts.removeNode,
      events: opts.events,
    });
  }
};
