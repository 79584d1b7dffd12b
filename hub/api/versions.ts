// /v1/versions/support: the Kubernetes version support data in force (bundled, or overlaid by an
// import), importing new data (atoll-hub versions import FILE) and going back to the bundled data.
import type { FastifyPluginAsync } from 'fastify';
import type { HubServices } from './services.js';
import { HubError } from '../errors.js';
import { nstr, num, open, openOrNull, responses, str } from './schemas.js';
import { SUPPORT_STATUSES, type VersionSupport } from '../versions/support-status.js';

/** The support status lookup for the node view, when the hub has version support set up. */
export function supportOf(svc: HubServices): ((version: string) => VersionSupport) | undefined {
  const vs = svc.versionSupport;
  return vs && ((version) => vs.status(version));
}

const dateDoc = (what: string): Record<string, unknown> => ({ description: `${what}, YYYY-MM-DD (UTC)` });

export const supportStatusSchema = { type: 'string', enum: [...SUPPORT_STATUSES] };

/** A version's support as GET /v1/cluster and the node view show it. */
export const versionSupportSchema = openOrNull(
  {
    status: supportStatusSchema,
    minor: nstr,
    released: nstr,
    endOfMaintenance: {
      ...nstr,
      description: "end of regular support (upstream's maintenance mode start): only critical fixes after it",
    },
    endOfLife: { ...nstr, description: 'no fixes at all from this date on' },
    daysLeft: { type: ['integer', 'null'], description: 'whole days until the end of life; negative after it' },
  },
  {
    description:
      'support status of the k3s version: supported; deprecated when its end of life is within 60 days; end-of-life; unknown for a minor the support data does not list. null when the version is not known.',
  },
);

const viewSchema = open({
  bundledSource: str,
  imported: openOrNull(
    { source: str, importedAt: str, importedBy: str, minors: num },
    { description: 'the import in force (it overrides the bundled data minor by minor); null: bundled data only' },
  ),
  minors: {
    type: 'array',
    items: open({
      minor: str,
      released: str,
      endOfMaintenance: str,
      endOfLife: str,
      status: supportStatusSchema,
      daysLeft: { type: ['integer', 'null'] },
    }),
  },
});

// Leaves without `type` on purpose: the API coerces types, and a minor given as the number 1.30 must
// be refused (it would read 1.3), not coerced. The hub checks the document itself (support-data.ts).
const importBody = {
  type: 'object',
  description:
    'A version support document: {"source": "...", "minors": [{"minor": "1.31", "released": "2024-08-13", "endOfMaintenance": "2025-08-28", "endOfLife": "2025-10-28"}, ...]}. Dates are real YYYY-MM-DD dates, released < endOfMaintenance <= endOfLife, each later minor released later and ending no earlier. Imported minors override the bundled ones.',
  properties: {
    source: { description: 'where the dates come from' },
    updated: { description: 'when the document was last checked (free text)' },
    comment: { description: 'free text' },
    minors: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          minor: { description: 'e.g. "1.31" (a string)' },
          released: dateDoc('release date'),
          endOfMaintenance: dateDoc("end of regular support (upstream's maintenance mode start)"),
          endOfLife: dateDoc('end of life'),
        },
      },
    },
  },
};

export const versionRoutes: FastifyPluginAsync<{ svc: HubServices }> = async (app, { svc }) => {
  const support = () => {
    if (!svc.versionSupport) throw new HubError('NOT_FOUND', 'version support is not set up on this hub');
    return svc.versionSupport;
  };
  app.get(
    '/v1/versions/support',
    {
      schema: {
        summary: 'The Kubernetes version support data in force, each minor with its status today',
        response: responses({ 200: viewSchema }),
      },
    },
    async () => support().view(),
  );
  app.put(
    '/v1/versions/support',
    {
      schema: {
        summary: 'Import version support data (atoll-hub versions import FILE); a bad document changes nothing',
        body: importBody,
        response: responses({ 200: viewSchema }),
      },
    },
    async (req) => support().import(req.body, req.actor?.id ?? 'anonymous'),
  );
  app.delete(
    '/v1/versions/support',
    {
      schema: {
        summary: 'Drop the imported version support data: the data bundled with this atoll applies again',
        response: responses({ 200: viewSchema }),
      },
    },
    async (req) => support().reset(req.actor?.id ?? 'anonymous'),
  );
};
