// GET /v1/nodes/{id}/health-history?since=: a node's health samples (cpu, memory, disk percentages;
// one per ~30 s, kept for over an hour), oldest first. `since` is an ISO time or a duration back from
// now (`15m`, `1h`); the default is one hour.
import type { RoutePlugin } from '../http/route-plugin.js';
import type { HubServices } from './services.js';
import { HubError } from '../errors.js';
import { parseDuration } from '../duration.js';
import { HEALTH_HISTORY_RETENTION_MS, HEALTH_SAMPLE_INTERVAL_MS } from '../nodes/health-sampler.js';
import { healthSampleSchema, num, open, params, responses, str } from './schemas.js';

const DEFAULT_SINCE_MS = 3_600_000;
/** More than the retention holds at one sample per interval, so a full history always fits. */
const MAX_SAMPLES = 1000;

/** The start of the window: an ISO time, or a duration before `nowMs`. */
export function parseSince(since: string | undefined, nowMs: number): number {
  if (since === undefined || since === '') return nowMs - DEFAULT_SINCE_MS;
  if (/^[0-9]+(ms|s|m|h)$/.test(since)) {
    try {
      return nowMs - parseDuration(since);
    } catch (err) {
      throw new HubError('VALIDATION', `since: ${(err as Error).message}`);
    }
  }
  const at = Date.parse(since);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(since) || !Number.isFinite(at)) {
    throw new HubError(
      'VALIDATION',
      `since must be an ISO time (2026-01-02T03:04:05Z) or a duration such as 1h, not "${since}"`,
    );
  }
  return at;
}

export const healthHistoryRoutes: RoutePlugin<{ svc: HubServices }> = async (app, { svc }) => {
  app.get(
    '/v1/nodes/:id/health-history',
    {
      schema: {
        summary: "A node's health history: cpu, memory and disk percentages, one sample per ~30 s, oldest first",
        params: params('id'),
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            since: {
              type: 'string',
              maxLength: 40,
              description: 'an ISO time or a duration back from now (15m, 1h); default 1h',
            },
          },
        },
        response: responses({
          200: open({
            nodeId: str,
            since: str,
            intervalSeconds: num,
            retentionSeconds: num,
            samples: { type: 'array', items: healthSampleSchema },
          }),
        }),
      },
    },
    async (req) => {
      const { id } = req.params;
      const { since } = req.query;
      const sinceMs = parseSince(since, Date.now());
      if (!(await svc.store.getNode(id))) throw new HubError('NOT_FOUND', `node ${id} does not exist`);
      const samples = await svc.store.listHealthSamples(id, new Date(sinceMs).toISOString(), MAX_SAMPLES);
      return {
        nodeId: id,
        since: new Date(sinceMs).toISOString(),
        intervalSeconds: HEALTH_SAMPLE_INTERVAL_MS / 1000,
        retentionSeconds: HEALTH_HISTORY_RETENTION_MS / 1000,
        samples: samples.map(({ at, cpuPercent, memoryPercent, diskPercent }) => ({
          at,
          cpuPercent,
          memoryPercent,
          diskPercent,
        })),
      };
    },
  );
};
