// Kubernetes Status errors (k8s.io/apimachinery/pkg/api/errors) with the apiserver's wording.
import { qualified, type ResourceType } from '../store/resource-types.js';

export interface StatusCause {
  readonly reason?: string;
  readonly message?: string;
  readonly field?: string;
}

export interface StatusBody {
  readonly kind: 'Status';
  readonly apiVersion: 'v1';
  readonly metadata: Record<string, never>;
  readonly status: 'Success' | 'Failure';
  readonly message?: string;
  readonly reason?: string;
  readonly details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: StatusCause[];
    retryAfterSeconds?: number;
  };
  readonly code: number;
}

export class ApiError extends Error {
  constructor(readonly status: StatusBody) {
    super(status.message ?? status.reason ?? 'error');
  }

  get code(): number {
    return this.status.code;
  }
}

export function statusBody(code: number, reason: string, message: string, details?: StatusBody['details']): StatusBody {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

export function successStatus(code: number): StatusBody {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code };
}

const gd = (rt: ResourceType, name: string): NonNullable<StatusBody['details']> => ({
  name,
  ...(rt.group ? { group: rt.group } : {}),
  kind: rt.plural,
});

export const errors = {
  notFound: (rt: ResourceType, name: string) =>
    new ApiError(statusBody(404, 'NotFound', `${qualified(rt)} "${name}" not found`, gd(rt, name))),
  namespaceNotFound: (ns: string) =>
    new ApiError(statusBody(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' })),
  alreadyExists: (rt: ResourceType, name: string) =>
    new ApiError(statusBody(409, 'AlreadyExists', `${qualified(rt)} "${name}" already exists`, gd(rt, name))),
  conflict: (
    rt: ResourceType,
    name: string,
    why = 'the object has been modified; please apply your changes to the latest version and try again',
  ) =>
    new ApiError(
      statusBody(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(rt)} "${name}": ${why}`, gd(rt, name)),
    ),
  invalid: (rt: ResourceType, name: string, field: string, detail: string) =>
    new ApiError(
      statusBody(422, 'Invalid', `${rt.kind} "${name}" is invalid: ${field}: ${detail}`, {
        ...gd(rt, name),
        kind: rt.kind,
        causes: [{ reason: 'FieldValueInvalid', message: detail, field }],
      }),
    ),
  badRequest: (message: string) => new ApiError(statusBody(400, 'BadRequest', message)),
  unauthorized: () => new ApiError(statusBody(401, 'Unauthorized', 'Unauthorized')),
  forbidden: (message: string) => new ApiError(statusBody(403, 'Forbidden', message)),
  pathNotFound: () => new ApiError(statusBody(404, 'NotFound', 'the server could not find the requested resource', {})),
  methodNotAllowed: () =>
    new ApiError(
      statusBody(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {}),
    ),
  notAcceptable: () =>
    new ApiError(
      statusBody(
        406,
        'NotAcceptable',
        'only the following media types are accepted: application/json, application/yaml',
      ),
    ),
  unsupportedMediaType: (ct: string) =>
    new ApiError(
      statusBody(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got ${ct})`,
      ),
    ),
  expired: (message: string) => new ApiError(statusBody(410, 'Expired', message)),
  invalidPatch: (message: string) =>
    new ApiError(
      statusBody(422, 'Invalid', `the server rejected our request due to an error in our request: ${message}`),
    ),
  internal: (message: string) => new ApiError(statusBody(500, 'InternalError', message)),
};
