// The node groups cluster-autoscaler sees through the externalgrpc service: what the gRPC handlers
// need, apart from how pools, nodes and the provider hook implement it (pool-groups.ts).
import { AtollError } from '../../../certs/atoll-error.js';

/** A node group as NodeGroupForNode names it (the wire's NodeGroup has no size). */
export interface GroupRef {
  id: string;
  minSize: number;
  maxSize: number;
  debug: string;
}

/** A node group: one pool. targetSize counts the pool's nodes not being deleted plus the machines asked for. */
export interface GroupView extends GroupRef {
  targetSize: number;
}

/** InstanceErrorClass of cluster-autoscaler: a provider out of capacity, or anything else. */
export const ERROR_CLASS_OUT_OF_RESOURCES = 1;
export const ERROR_CLASS_OTHER = 99;

export interface InstanceView {
  /** The providerID the instance's Kubernetes node has (atoll://<node id>), or a request's placeholder. */
  id: string;
  state: 'running' | 'creating' | 'deleting';
  error?: { code: string; message: string; errorClass: number };
}

/** What a new node of the group would look like: scale-up simulations (and scale from zero) use it. */
export interface TemplateView {
  name: string;
  labels: Record<string, string>;
  /** `key=value:Effect` */
  taints: string[];
  /** Kubernetes quantities, e.g. { cpu: "4", memory: "8Gi", pods: "110" }. */
  capacity: Record<string, string>;
  allocatable: Record<string, string>;
  arch: string;
  os: string;
}

/** Per-group overrides of cluster-autoscaler's own defaults; undefined fields keep its defaults. */
export interface GroupOptions {
  scaleDownUtilizationThreshold?: number;
  scaleDownUnneededMs?: number;
  maxNodeProvisionMs?: number;
}

/** An instance as cluster-autoscaler names it: the Node's providerID and name. */
export interface InstanceRef {
  providerId: string;
  name: string;
}

export interface NodeGroups {
  groups(): Promise<GroupView[]>;
  /** Throws HubError NOT_FOUND for an unknown group. */
  group(id: string): Promise<GroupView>;
  /**
   * The group of the node with this atoll node id; undefined when it has none. The hub's record of
   * that node must have this name (the Kubernetes Node's): a node writes its own providerID, so a
   * mismatch (a node claiming another's id) is refused with GROUP_NODE_MISMATCH. Called once per
   * node per cluster-autoscaler loop: it reads that node and its pool, never the whole node list.
   */
  groupOfNode(nodeId: string, nodeName: string): Promise<GroupRef | undefined>;
  /** Asks for `delta` more machines; beyond maxSize it refuses and changes nothing. */
  increaseSize(id: string, delta: number, actor: string): Promise<void>;
  /** Drops `-delta` machine requests not fulfilled yet; never deletes a node. */
  decreaseTargetSize(id: string, delta: number, actor: string): Promise<void>;
  /**
   * Deletes these instances of the group: nodes are removed and their machines deleted. Each names its
   * providerID and its Kubernetes Node's name, which must be the name the hub has for that node id.
   */
  deleteNodes(id: string, instances: InstanceRef[], actor: string): Promise<void>;
  instances(id: string): Promise<InstanceView[]>;
  template(id: string): Promise<TemplateView>;
  options(id: string): Promise<GroupOptions>;
  /** Before each autoscaler loop: settles fulfilled requests. */
  refresh(): Promise<void>;
}

export const PROVIDER_PREFIX = 'atoll://';
const REQUEST_PREFIX = 'request-';

export function providerIdOf(nodeId: string): string {
  return `${PROVIDER_PREFIX}${nodeId}`;
}

export function requestInstanceId(requestId: string): string {
  return `${PROVIDER_PREFIX}${REQUEST_PREFIX}${requestId}`;
}

/** atoll://<node id> -> { node }, atoll://request-<id> -> { request }; undefined for another provider's id. */
export function parseInstanceId(id: string): { node: string } | { request: string } | undefined {
  if (!id.startsWith(PROVIDER_PREFIX)) return undefined;
  const rest = id.slice(PROVIDER_PREFIX.length);
  if (!rest || rest.length > 128 || rest.includes('/')) return undefined;
  return rest.startsWith(REQUEST_PREFIX) ? { request: rest.slice(REQUEST_PREFIX.length) } : { node: rest };
}

export type GroupErrorCode =
  | 'GROUP_NOT_FOUND'
  | 'GROUP_INVALID_ARGUMENT'
  | 'GROUP_SIZE_OUT_OF_RANGE'
  | 'GROUP_NO_HOOK'
  | 'GROUP_NOT_MEMBER'
  | 'GROUP_NODE_MISMATCH'
  | 'GROUP_NO_TEMPLATE';

/** Refuses a node whose providerID names an atoll node of another name (the node wrote it itself). */
export function checkNodeName(node: { id: string; name: string }, name: string): void {
  if (node.name !== name)
    throw new GroupError(
      'GROUP_NODE_MISMATCH',
      `node ${JSON.stringify(name.slice(0, 80))} has providerID ${providerIdOf(node.id)}, which is node ${node.name}'s: refused`,
    );
}

/** A refusal of a node-group call; the gRPC handlers map the code to a status (handlers.ts). */
export class GroupError extends AtollError<GroupErrorCode> {
  constructor(code: GroupErrorCode, message: string) {
    super(code, message);
    this.name = 'GroupError';
  }
}
