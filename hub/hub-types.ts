// What startHub (app.ts) takes and gives back: a running hub's addresses, services and servers.
import type { FastifyInstance } from 'fastify';
import type { HubServices } from './api/services.js';
import type { Logger } from './logger.js';

export interface Hub {
  apiUrl: string;
  gatewayUrl: string;
  adminTokenPath: string;
  services: HubServices;
  api: FastifyInstance;
  gateway: FastifyInstance;
  /** Counts a rejection nobody caught (main.ts logs it) in atoll_unhandled_rejections_total. */
  unhandledRejection(): void;
  stop(): Promise<void>;
}

export interface HubDeps {
  logger: Logger;
  /** The live hubs' direct gateway URLs for the welcome (gateway/hub-gateway.ts; default: this hub's). */
  liveGatewayUrls?: () => string[];
  /** The hub must not keep its agents now (shutting down, lost its database): they are sent elsewhere. */
  shouldShedAgents?: () => boolean;
}
