// The type of a route plugin whose request types come from its route schemas: req.body, req.query and
// req.params are inferred from the JSON schemas (@fastify/type-provider-json-schema-to-ts), so the
// schema a request is validated against is also the type the handler reads, without casts.
import type { FastifyPluginOptions } from 'fastify';
import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts';

export type RoutePlugin<Options extends FastifyPluginOptions = Record<never, never>> =
  FastifyPluginAsyncJsonSchemaToTs<{
    Options: Options;
  }>;
