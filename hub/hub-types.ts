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
}
