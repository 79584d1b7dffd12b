// cluster-autoscaler's externalgrpc CloudProvider service for @grpc/grpc-js: the method table (paths,
// protobuf (de)serializers from the static code in gen/externalgrpc.js) and the Node encoder for the
// scale-from-zero template. Only the hub imports this (the agent bundle never carries it).
import './numbers.js';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { clusterautoscaler, k8s } from './gen/externalgrpc.js';

export const EXTERNALGRPC_SERVICE = 'clusterautoscaler.cloudprovider.v1.externalgrpc.CloudProvider';
/** The largest request the hub reads (bytes): DeleteNodes with many nodes fits well within. */
export const EXTERNALGRPC_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

export const eg = clusterautoscaler.cloudprovider.v1.externalgrpc;
export type KubeNode = k8s.io.api.core.v1.Node.$Properties;
export const InstanceState = eg.InstanceStatus.InstanceState;

/** A generated message type, as far as the method table needs it. */
interface Codec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(data: Uint8Array): T;
}

/** Each method: its request and response message types. */
const METHODS = {
  NodeGroups: [eg.NodeGroupsRequest, eg.NodeGroupsResponse],
  NodeGroupForNode: [eg.NodeGroupForNodeRequest, eg.NodeGroupForNodeResponse],
  PricingNodePrice: [eg.PricingNodePriceRequest, eg.PricingNodePriceResponse],
  PricingPodPrice: [eg.PricingPodPriceRequest, eg.PricingPodPriceResponse],
  GPULabel: [eg.GPULabelRequest, eg.GPULabelResponse],
  GetAvailableGPUTypes: [eg.GetAvailableGPUTypesRequest, eg.GetAvailableGPUTypesResponse],
  Cleanup: [eg.CleanupRequest, eg.CleanupResponse],
  Refresh: [eg.RefreshRequest, eg.RefreshResponse],
  NodeGroupTargetSize: [eg.NodeGroupTargetSizeRequest, eg.NodeGroupTargetSizeResponse],
  NodeGroupIncreaseSize: [eg.NodeGroupIncreaseSizeRequest, eg.NodeGroupIncreaseSizeResponse],
  NodeGroupDeleteNodes: [eg.NodeGroupDeleteNodesRequest, eg.NodeGroupDeleteNodesResponse],
  NodeGroupDecreaseTargetSize: [eg.NodeGroupDecreaseTargetSizeRequest, eg.NodeGroupDecreaseTargetSizeResponse],
  NodeGroupNodes: [eg.NodeGroupNodesRequest, eg.NodeGroupNodesResponse],
  NodeGroupTemplateNodeInfo: [eg.NodeGroupTemplateNodeInfoRequest, eg.NodeGroupTemplateNodeInfoResponse],
  NodeGroupGetOptions: [eg.NodeGroupAutoscalingOptionsRequest, eg.NodeGroupAutoscalingOptionsResponse],
} as const;

export type ExternalGrpcMethod = keyof typeof METHODS;
export const EXTERNALGRPC_METHODS = Object.keys(METHODS) as ExternalGrpcMethod[];

/** Request and response shapes per method (plain objects; decode gives message instances). */
export type RequestOf<M extends ExternalGrpcMethod> = Parameters<(typeof METHODS)[M][0]['encode']>[0];
export type ResponseOf<M extends ExternalGrpcMethod> = Parameters<(typeof METHODS)[M][1]['encode']>[0];

function serializer<T>(type: Codec<T>): (value: T) => Buffer {
  return (value) => {
    const bytes = type.encode(value).finish();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

/** The method table for server.addService (and for a test's makeGenericClientConstructor). */
export function externalGrpcServiceDefinition(): ServiceDefinition {
  const entries = EXTERNALGRPC_METHODS.map((name) => {
    const [req, res] = METHODS[name] as unknown as [Codec<unknown>, Codec<unknown>];
    const method = {
      path: `/${EXTERNALGRPC_SERVICE}/${name}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: serializer(req),
      requestDeserialize: (b: Buffer) => req.decode(b),
      responseSerialize: serializer(res),
      responseDeserialize: (b: Buffer) => res.decode(b),
    };
    return [name, method] as const;
  });
  return Object.fromEntries(entries) as ServiceDefinition;
}

/** A v1.Node proto-encoded as Go's Node#Marshal() writes it (the fields atoll sets). */
export function encodeKubeNode(node: KubeNode): Uint8Array {
  return k8s.io.api.core.v1.Node.encode(node).finish();
}

export function decodeKubeNode(bytes: Uint8Array): k8s.io.api.core.v1.Node {
  return k8s.io.api.core.v1.Node.decode(bytes);
}
