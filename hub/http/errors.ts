// JSON errors for every fastify listener: {"error": {"code", "message"}} with a fitting status.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HubError, errorBody } from '../errors.js';
import { StoreError } from '../store/types.js';

export function toHubError(err: unknown): HubError {
  if (err instanceof HubError) return err;
  if (err instanceof StoreError) {
    if (err.code === 'DISK_FULL') return new HubError('DISK_FULL', err.message);
    if (err.code === 'CONFLICT') return new HubError('CONFLICT', err.message);
    if (err.code === 'NOT_FOUND') return new HubError('NOT_FOUND', err.message);
    if (err.code === 'DATASTORE_UNAVAILABLE') return new HubError('DATASTORE_UNAVAILABLE', err.message);
    if (err.code === 'LEASE_LOST') return new HubError('CONFLICT', `${err.message}; try again on the leading hub`);
    return new HubError('STORE_UNAVAILABLE', `the hub store failed: ${err.message}`);
  }
  const fe = err as FastifyError;
  if (fe && fe.validation) return new HubError('VALIDATION', validationMessage(fe));
  if (fe && fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return new HubError('PAYLOAD_TOO_LARGE', 'request body is too large');
  if (
    fe &&
    (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || fe.statusCode === 400)
  )
    return new HubError('BAD_REQUEST', fe.message);
  if (fe && fe.statusCode === 415) return new HubError('BAD_REQUEST', fe.message);
  return new HubError('INTERNAL', 'internal error');
}

interface AjvError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  parentSchema?: { properties?: Record<string, unknown> };
}

/**
 * A schema refusal in words. An unknown property (a misspelled setting) is named, with where it
 * was and, when the schema is at hand (ajv `verbose`), the properties that are known there.
 */
function validationMessage(fe: FastifyError): string {
  const first = (fe.validation as unknown as AjvError[] | undefined)?.[0];
  const prop = first?.params.additionalProperty;
  if (first?.keyword !== 'additionalProperties' || typeof prop !== 'string') return fe.message;
  const where = [fe.validationContext ?? 'body', ...first.instancePath.split('/').filter(Boolean)].join('.');
  const known = Object.keys(first.parentSchema?.properties ?? {});
  return `unknown property ${JSON.stringify(prop.slice(0, 100))} in ${where}${known.length ? ` (known: ${known.join(', ')})` : ''}`;
}

/**
 * fastify's `frameworkErrors` option: errors raised before a route matched (a path segment over
 * maxParamLength, a malformed percent-escape) answer in the same {"error": {code, message}} shape,
 * without echoing the path (it may hold a secret pasted by mistake).
 */
export function frameworkErrorReply(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  const e =
    err.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? new HubError('BAD_REQUEST', 'a path segment is longer than 100 characters')
      : err.code === 'FST_ERR_BAD_URL'
        ? new HubError('BAD_REQUEST', 'the URL is malformed (bad percent-escape)')
        : new HubError('INTERNAL', 'internal error');
  reply.status(e.status).send(errorBody(e.code, e.message));
}

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err, req, reply) => {
    const e = toHubError(err);
    if (e.status >= 500) req.log.error({ err }, 'request failed');
    reply.status(e.status).send(errorBody(e.code, e.message));
  });
  app.setNotFoundHandler((req, reply) => {
    reply.status(404).send(errorBody('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`));
  });
}
