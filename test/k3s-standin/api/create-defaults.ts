// Defaults the apiserver (and, for pods, the scheduler/kubelet the stand-in stands for) fills in on create.
import { isObject, type JsonObject, type KubeObject } from '../store/kube-object.js';
import type { ResourceType } from '../store/resource-types.js';
import { kubeTime } from '../util/go-time.js';

/** A pod bound to a node is running there: the stand-in plays the kubelet that would start it. */
export function runningPodStatus(pod: KubeObject, hostIP: string, now: Date, podCidr = '10.42.0.0/24'): JsonObject {
  const spec = isObject(pod.spec) ? pod.spec : {};
  const containers = Array.isArray(spec.containers) ? spec.containers.filter(isObject) : [];
  const t = kubeTime(now);
  const n = Math.abs([...pod.metadata.name].reduce((a, c) => (a * 31 + c.charCodeAt(0)) | 0, 7));
  return {
    phase: 'Running',
    conditions: ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map(
      (type) => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: t }),
    ),
    hostIP,
    hostIPs: [{ ip: hostIP }],
    podIP: `${podCidr.split('.').slice(0, 3).join('.')}.${(n % 250) + 2}`,
    startTime: t,
    qosClass: 'BestEffort',
    containerStatuses: containers.map((c) => ({
      name: c.name,
      ready: true,
      started: true,
      restartCount: 0,
      image: c.image,
      imageID: '',
      containerID: `containerd://${(n * 7919).toString(16).padStart(12, '0')}`,
      state: { running: { startedAt: t } },
    })),
  };
}

/** A new pod: bound already (spec.nodeName) or waiting for the scheduler, which sets PodScheduled. */
export function pendingPodStatus(now: Date, bound: boolean): JsonObject {
  if (!bound) return { phase: 'Pending', qosClass: 'BestEffort' };
  const scheduled = { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: kubeTime(now) };
  return { phase: 'Pending', qosClass: 'BestEffort', conditions: [scheduled] };
}

export function applyCreateDefaults(rt: ResourceType, obj: KubeObject): void {
  const now = new Date();
  if (rt.group === '' && rt.plural === 'namespaces') {
    obj.spec = { finalizers: ['kubernetes'] };
    obj.status = { phase: 'Active' };
    obj.metadata.labels = { ...(obj.metadata.labels ?? {}), 'kubernetes.io/metadata.name': obj.metadata.name };
  } else if (rt.group === '' && rt.plural === 'secrets') {
    if (obj.type === undefined) obj.type = 'Opaque';
    if (isObject(obj.stringData)) {
      const data: JsonObject = isObject(obj.data) ? obj.data : {};
      for (const [k, v] of Object.entries(obj.stringData)) data[k] = Buffer.from(String(v)).toString('base64');
      obj.data = data;
    }
    delete obj.stringData;
  } else if (rt.group === '' && rt.plural === 'pods') {
    const spec: JsonObject = isObject(obj.spec) ? obj.spec : {};
    obj.spec = {
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler',
      serviceAccountName: 'default',
      ...spec,
    };
    obj.status = pendingPodStatus(now, typeof spec.nodeName === 'string' && spec.nodeName !== '');
  } else if (rt.hasStatus && rt.plural !== 'nodes') {
    obj.status = {};
  }
}
