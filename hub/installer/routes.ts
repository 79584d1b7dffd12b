// Gateway routes for new servers (no client certificate): the curl-pipe installer, the agent
// bundle and Node.js runtimes. Filled in by the installer work (issue 4).
import type { FastifyPluginAsync } from 'fastify';

export interface InstallerRouteOptions {
  /** Hub data dir (artifacts/ holds the agent bundle and runtimes). */
  dataDir: string;
  /** The gateway URL agents use (written into install.sh as its default hub URL). */
  publicUrl: string;
  caPem: string;
}

export const installerRoutes: FastifyPluginAsync<InstallerRouteOptions> = async () => {
  // install.sh, /v1/artifacts/agent/..., /v1/artifacts/node/... arrive with the installer.
};
