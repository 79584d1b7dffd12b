// The admin kubeconfig as the hub hands it out: k3s names its cluster, user and context "default",
// which collides with every other cluster in a merged ~/.kube/config; the hub names them after the
// cluster (--cluster-name) and points the server at the public URL.
import { dumpYaml, loadYaml } from '@kubernetes/client-node';

interface Named {
  name?: string;
  [k: string]: unknown;
}
interface KubeconfigDoc {
  clusters?: Array<Named & { cluster?: { server?: string } }>;
  users?: Named[];
  contexts?: Array<Named & { context?: { cluster?: string; user?: string } }>;
  'current-context'?: string;
  [k: string]: unknown;
}

/** Rewrites a k3s admin kubeconfig: every cluster, user and context named `name`; every server `serverUrl`. */
export function publicKubeconfig(text: string, name: string, serverUrl: string): string {
  const doc = loadYaml<KubeconfigDoc>(text);
  for (const c of doc.clusters ?? []) {
    c.name = name;
    if (c.cluster) c.cluster.server = serverUrl;
  }
  for (const u of doc.users ?? []) u.name = name;
  for (const c of doc.contexts ?? []) {
    c.name = name;
    if (c.context) c.context = { ...c.context, cluster: name, user: name };
  }
  doc['current-context'] = name;
  return dumpYaml(doc, { lineWidth: -1 });
}
