// The CloudProvider methods over NodeGroups: each checks the caller's role (the TLS layer already
// checked its chain to the hub CA), turns the request into a NodeGroups call, and a GroupError into
// the gRPC status cluster-autoscaler expects (UNIMPLEMENTED for the optional answers it may skip).
import { status, type handleUnaryCall, type ServerUnaryCall, type UntypedServiceImplementation } from '@grpc/grpc-js';
import {
  encodeKubeNode,
  InstanceState,
  type ExternalGrpcMethod,
  type RequestOf,
  type ResponseOf,
} from '../../../proto/externalgrpc-service.js';
import { AtollError } from '../../../certs/atoll-error.js';
import type { Logger } from '../../logger.js';
import { hasAutoscalerRole } from './client-cert.js';
import { parseInstanceId, type GroupOptions, type InstanceView, type NodeGroups } from './node-groups.js';
import { templateNode } from './template-node.js';

/** What cluster-autoscaler's calls are recorded as (events' actor). */
export const ACTOR = 'cluster-autoscaler';
/** The node label atoll's GPU nodes would carry (GPULabel). */
export const GPU_LABEL = 'atoll.dev/gpu';

const STATUS_OF: Record<string, status> = {
  GROUP_NOT_FOUND: status.NOT_FOUND,
  GROUP_INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  GROUP_SIZE_OUT_OF_RANGE: status.OUT_OF_RANGE,
  GROUP_NO_HOOK: status.FAILED_PRECONDITION,
  GROUP_NOT_MEMBER: status.INVALID_ARGUMENT,
  GROUP_NODE_MISMATCH: status.PERMISSION_DENIED,
  GROUP_NO_TEMPLATE: status.UNIMPLEMENTED,
  DATASTORE_UNAVAILABLE: status.UNAVAILABLE,
  STORE_UNAVAILABLE: status.UNAVAILABLE,
};

class Unimplemented extends AtollError<'UNIMPLEMENTED'> {
  constructor(what: string) {
    super('UNIMPLEMENTED', `${what} is not implemented by atoll`);
  }
}

class Revoked extends AtollError<'AUTOSCALER_CERT_REVOKED'> {
  constructor() {
    super(
      'AUTOSCALER_CERT_REVOKED',
      'this client certificate was revoked or not issued by `atoll-hub autoscaler cert`: issue a new one',
    );
  }
}

type Impl = { [M in ExternalGrpcMethod]: (req: RequestOf<M>) => Promise<ResponseOf<M>> };

/** Whether a client certificate (by serial) was issued by this hub's `autoscaler cert` and not revoked. */
export type CertAllowed = (serial: string | undefined) => Promise<boolean>;

function unary<M extends ExternalGrpcMethod>(
  name: M,
  fn: Impl[M],
  logger: Logger,
  allowed: CertAllowed,
): handleUnaryCall<RequestOf<M>, ResponseOf<M>> {
  return (call: ServerUnaryCall<RequestOf<M>, ResponseOf<M>>, callback) => {
    const peer = call.getAuthContext().sslPeerCertificate;
    if (!hasAutoscalerRole(peer)) {
      callback({
        code: status.PERMISSION_DENIED,
        details: 'a client certificate with the atoll:autoscaler role is required',
      });
      return;
    }
    allowed(peer?.serialNumber)
      .then((ok) => {
        if (ok) return fn(call.request);
        throw new Revoked();
      })
      .then(
        (res) => callback(null, res),
        (err: unknown) => {
          const code = (err as { code?: string }).code ?? '';
          const grpcStatus =
            err instanceof Unimplemented
              ? status.UNIMPLEMENTED
              : err instanceof Revoked
                ? status.PERMISSION_DENIED
                : STATUS_OF[code];
          if (grpcStatus === undefined)
            logger.error({ method: name, err: (err as Error).message }, 'autoscaler call failed');
          else if (code === 'GROUP_NODE_MISMATCH')
            logger.warn({ method: name, err: (err as Error).message }, 'refused');
          callback({
            code: grpcStatus ?? status.INTERNAL,
            details: grpcStatus === undefined ? 'internal error (see the hub log)' : (err as Error).message,
          });
        },
      );
  };
}

const STATE = {
  running: InstanceState.instanceRunning,
  creating: InstanceState.instanceCreating,
  deleting: InstanceState.instanceDeleting,
} as const;

function instance(i: InstanceView) {
  return {
    id: i.id,
    status: {
      instanceState: STATE[i.state],
      errorInfo: i.error
        ? { errorCode: i.error.code, errorMessage: i.error.message, instanceErrorClass: i.error.errorClass }
        : { errorCode: '', errorMessage: '', instanceErrorClass: 0 },
    },
  };
}

const NS = 1e9;

function optionsOut(defaults: RequestOf<'NodeGroupGetOptions'>['defaults'], o: GroupOptions) {
  const dur = (ms: number) => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });
  const out = { ...(defaults ?? {}) } as NonNullable<typeof defaults>;
  if (o.scaleDownUtilizationThreshold !== undefined)
    out.scaleDownUtilizationThreshold = o.scaleDownUtilizationThreshold;
  if (o.scaleDownUnneededMs !== undefined) {
    out.scaleDownUnneededDuration = dur(o.scaleDownUnneededMs);
    out.scaleDownUnneededTime = { duration: (o.scaleDownUnneededMs / 1000) * NS };
  }
  if (o.maxNodeProvisionMs !== undefined) {
    out.MaxNodeProvisionDuration = dur(o.maxNodeProvisionMs);
    out.MaxNodeProvisionTime = { duration: (o.maxNodeProvisionMs / 1000) * NS };
  }
  return out;
}

export function cloudProviderHandlers(
  groups: NodeGroups,
  logger: Logger,
  allowed: CertAllowed,
  now: () => number = Date.now,
): UntypedServiceImplementation {
  const impl: Impl = {
    NodeGroups: async () => ({ nodeGroups: await groups.groups() }),
    NodeGroupForNode: async (req) => {
      // The providerID (and any label) is the node's own word: groupOfNode checks it against the Node's name.
      const parsed = parseInstanceId(req.node?.providerID ?? '');
      const g = parsed && 'node' in parsed ? await groups.groupOfNode(parsed.node, req.node?.name ?? '') : undefined;
      return { nodeGroup: g ?? { id: '' } };
    },
    PricingNodePrice: () => Promise.reject(new Unimplemented('PricingNodePrice')),
    PricingPodPrice: () => Promise.reject(new Unimplemented('PricingPodPrice')),
    GPULabel: async () => ({ label: GPU_LABEL }),
    GetAvailableGPUTypes: async () => ({ gpuTypes: {} }),
    Cleanup: async () => ({}),
    Refresh: async () => {
      await groups.refresh();
      return {};
    },
    NodeGroupTargetSize: async (req) => ({ targetSize: (await groups.group(req.id ?? '')).targetSize }),
    NodeGroupIncreaseSize: async (req) => {
      await groups.increaseSize(req.id ?? '', req.delta ?? 0, ACTOR);
      return {};
    },
    NodeGroupDeleteNodes: async (req) => {
      const nodes = (req.nodes ?? []).map((n) => ({ providerId: n.providerID ?? '', name: n.name ?? '' }));
      await groups.deleteNodes(req.id ?? '', nodes, ACTOR);
      return {};
    },
    NodeGroupDecreaseTargetSize: async (req) => {
      await groups.decreaseTargetSize(req.id ?? '', req.delta ?? 0, ACTOR);
      return {};
    },
    NodeGroupNodes: async (req) => ({ instances: (await groups.instances(req.id ?? '')).map(instance) }),
    NodeGroupTemplateNodeInfo: async (req) => {
      const node = templateNode(await groups.template(req.id ?? ''), now());
      // The same Node twice: as bytes for current releases, embedded for older ones.
      return { nodeBytes: encodeKubeNode(node), nodeInfo: node };
    },
    NodeGroupGetOptions: async (req) => ({
      nodeGroupAutoscalingOptions: optionsOut(req.defaults, await groups.options(req.id ?? '')),
    }),
  };
  const out: UntypedServiceImplementation = {};
  for (const name of Object.keys(impl) as ExternalGrpcMethod[])
    out[name] = unary(name, impl[name] as never, logger, allowed) as unknown as UntypedServiceImplementation[string];
  return out;
}
