// `k3s token create|list|delete|generate` (pkg/cli/token): bootstrap tokens stored as Secrets
// kube-system/bootstrap-token-<id>, through the admin kubeconfig. Output matches k3s byte for byte.
import { KubeClient, type KubeStatusError } from '../util/kube-client.js';
import { list, str, num, type ParsedFlags } from '../cli/flag-parser.js';
import {
  BOOTSTRAP_TOKEN_ID_PATTERN,
  BOOTSTRAP_TOKEN_PATTERN,
  BOOTSTRAP_TOKEN_RE,
  formatToken,
} from '../util/k10-token.js';
import { generateBootstrapToken } from '../util/random.js';
import { goQuote } from '../util/go-quote.js';
import { kubeTime } from '../util/go-time.js';
import { shortHumanDuration } from '../util/human-duration.js';
import { tabwrite } from '../util/tabwriter.js';
import { kubeconfigPath, loadKubeconfig } from './kubeconfig-read.js';
import type { Writable } from '../util/log.js';

const SECRETS_PATH = '/api/v1/namespaces/kube-system/secrets';
const DEFAULT_GROUP = 'system:bootstrappers:k3s:default-node-token';
const KNOWN_USAGES = ['signing', 'authentication'];

interface BootstrapToken {
  token: string;
  id: string;
  description: string;
  expires?: string;
  usages: string[];
  groups: string[];
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const unb64 = (s: unknown): string => (typeof s === 'string' ? Buffer.from(s, 'base64').toString('utf8') : '');

function client(p: ParsedFlags): { kube: KubeClient; caData: Buffer } {
  const kc = loadKubeconfig(kubeconfigPath(str(p, 'kubeconfig'), str(p, 'data-dir')));
  return { kube: new KubeClient(kc), caData: kc.caData };
}

function fromSecret(s: { metadata: { name: string }; data?: Record<string, string> }): BootstrapToken | string {
  const d = s.data ?? {};
  const id = unb64(d['token-id']);
  if (!id) return `bootstrap Token Secret has no token-id data: ${s.metadata.name}`;
  const secret = unb64(d['token-secret']);
  const usages = Object.entries(d)
    .filter(([k, v]) => k.startsWith('usage-bootstrap-') && unb64(v) === 'true')
    .map(([k]) => k.slice('usage-bootstrap-'.length))
    .sort();
  const groups = unb64(d['auth-extra-groups'])
    .split(',')
    .filter((g) => g !== '');
  const expires = unb64(d.expiration);
  return {
    token: `${id}.${secret}`,
    id,
    description: unb64(d.description),
    ...(expires ? { expires } : {}),
    usages,
    groups,
  };
}

export async function tokenCreate(p: ParsedFlags, out: Writable): Promise<void> {
  const output = str(p, 'output') || 'text';
  if (!['text', 'json', 'yaml'].includes(output)) throw new Error(`invalid output format: ${output}`);
  const groups = p.set.has('groups') ? list(p, 'groups') : [DEFAULT_GROUP];
  const usages = p.set.has('usages') ? list(p, 'usages') : KNOWN_USAGES;
  const token = p.args[0] ?? generateBootstrapToken();
  const { kube, caData } = client(p);
  const m = BOOTSTRAP_TOKEN_RE.exec(token);
  if (!m)
    throw new Error(`the bootstrap token ${goQuote(token)} was not of the form ${goQuote(BOOTSTRAP_TOKEN_PATTERN)}`);
  const [, id, secret] = m as unknown as [string, string, string];
  const name = `bootstrap-token-${id}`;
  try {
    await kube.request('GET', `${SECRETS_PATH}/${name}`);
    throw new Error(`a token with id ${goQuote(id)} already exists`);
  } catch (e) {
    if ((e as KubeStatusError).code !== 404) throw e;
  }
  const ttl = num(p, 'ttl');
  const data: Record<string, string> = { 'token-id': b64(id), 'token-secret': b64(secret) };
  if (str(p, 'description')) data.description = b64(str(p, 'description'));
  if (ttl > 0) data.expiration = b64(kubeTime(new Date(Date.now() + ttl)));
  for (const u of usages) data[`usage-bootstrap-${u}`] = b64('true');
  if (groups.length > 0) data['auth-extra-groups'] = b64(groups.join(','));
  await kube.request('POST', SECRETS_PATH, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: 'kube-system' },
    type: 'bootstrap.kubernetes.io/token',
    data,
  });
  out.write(`${formatToken(`${id}.${secret}`, caData)}\n`);
}

export async function tokenList(p: ParsedFlags, out: Writable): Promise<void> {
  const output = str(p, 'output') || 'text';
  if (!['text', 'json', 'yaml'].includes(output)) throw new Error(`invalid output format: ${output}`);
  const { kube } = client(p);
  let res: { items?: { metadata: { name: string }; data?: Record<string, string> }[] };
  try {
    res = (await kube.request(
      'GET',
      `${SECRETS_PATH}?fieldSelector=${encodeURIComponent('type=bootstrap.kubernetes.io/token')}`,
    )) as typeof res;
  } catch (e) {
    throw new Error(`failed to list bootstrap tokens: ${(e as Error).message}`);
  }
  const tokens: BootstrapToken[] = [];
  for (const s of res.items ?? []) {
    const t = fromSecret(s);
    if (typeof t === 'string') out.write(t);
    else tokens.push(t);
  }
  if (output === 'json') {
    out.write(
      `${JSON.stringify(tokens.map((t) => ({ token: t.token, ...(t.description ? { description: t.description } : {}), ...(t.expires ? { expires: t.expires } : {}), ...(t.usages.length ? { usages: t.usages } : {}), ...(t.groups.length ? { groups: t.groups } : {}) })))}\n`,
    );
    return;
  }
  if (output === 'yaml') {
    const lines = tokens.flatMap((t) => [
      '- token:',
      `    id: ${t.id}`,
      `    secret: ${t.token.split('.')[1] ?? ''}`,
      `  description: ${t.description ? JSON.stringify(t.description) : '""'}`,
      '  ttl: null',
      `  expires: ${t.expires ?? 'null'}`,
      ...(t.usages.length ? ['  usages:', ...t.usages.map((u) => `  - ${u}`)] : ['  usages: []']),
      ...(t.groups.length ? ['  groups:', ...t.groups.map((g) => `  - ${g}`)] : ['  groups: []']),
    ]);
    out.write(lines.length ? `${lines.join('\n')}\n` : '[]\n');
    return;
  }
  const none = (s: string): string => (s === '' ? '<none>' : s);
  const rows = [['TOKEN', 'TTL', 'EXPIRES', 'USAGES', 'DESCRIPTION', 'EXTRA GROUPS']];
  for (const t of tokens) {
    const ttl = t.expires ? shortHumanDuration(Date.parse(t.expires) - Date.now()) : '<forever>';
    rows.push([
      t.id,
      ttl,
      t.expires ?? '<never>',
      none(t.usages.join(',')),
      none(t.description),
      none(t.groups.join(',')),
    ]);
  }
  out.write(tabwrite(rows, { minwidth: 10, padding: 3 }));
}

export async function tokenDelete(p: ParsedFlags, out: Writable): Promise<void> {
  if (p.args.length < 1) throw new Error("missing argument; 'token delete' is missing token");
  const { kube } = client(p);
  for (const id of p.args) {
    if (!/^[a-z0-9]{6}$/.test(id)) {
      throw new Error(
        `given token didn't match pattern ${goQuote(BOOTSTRAP_TOKEN_ID_PATTERN)} or ${goQuote(BOOTSTRAP_TOKEN_ID_PATTERN)}`,
      );
    }
    try {
      await kube.request('DELETE', `${SECRETS_PATH}/bootstrap-token-${id}`);
    } catch (e) {
      const msg = (e as Error).message;
      throw new Error(`failed to delete bootstrap token ${goQuote(msg)}: ${msg}`);
    }
    out.write(`bootstrap token ${goQuote(id)} deleted\n`);
  }
}

export function tokenGenerate(out: Writable): void {
  out.write(`${generateBootstrapToken()}\n`);
}
