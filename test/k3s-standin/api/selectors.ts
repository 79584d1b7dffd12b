// Label selectors (query strings and LabelSelector objects) and field selectors.
import { field, isObject, type KubeObject } from '../store/kube-object.js';
import { errors } from './api-error.js';

export type LabelMatcher = (labels: Readonly<Record<string, string>> | undefined) => boolean;
export type ObjectMatcher = (obj: KubeObject) => boolean;

interface Req {
  key: string;
  op: 'in' | 'notin' | 'exists' | '!exists' | '=' | '!=';
  values: string[];
}

function splitTerms(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const c of s) {
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (c === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  if (cur.trim() !== '') out.push(cur);
  return out.map((x) => x.trim()).filter((x) => x !== '');
}

function matchReqs(reqs: readonly Req[]): LabelMatcher {
  return (labels) =>
    reqs.every((r) => {
      const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, r.key);
      const v = has ? labels?.[r.key] : undefined;
      switch (r.op) {
        case 'exists':
          return has;
        case '!exists':
          return !has;
        case '=':
          return has && v === r.values[0];
        case '!=':
          return !has || v !== r.values[0];
        case 'in':
          return has && r.values.includes(v as string);
        case 'notin':
          return !has || !r.values.includes(v as string);
        default:
          return false;
      }
    });
}

export function parseLabelSelector(s: string | null | undefined): LabelMatcher {
  if (!s) return () => true;
  const reqs: Req[] = splitTerms(s).map((term) => {
    let m = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    if (m)
      return {
        key: m[1] as string,
        op: m[2] as 'in' | 'notin',
        values: (m[3] as string).split(',').map((x) => x.trim()),
      };
    m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
    if (m) return { key: m[1] as string, op: m[2] === '!=' ? '!=' : '=', values: [m[3] as string] };
    m = /^!\s*([^=!\s]+)$/.exec(term);
    if (m) return { key: m[1] as string, op: '!exists', values: [] };
    if (/^[^=!\s(),]+$/.test(term)) return { key: term, op: 'exists', values: [] };
    throw errors.badRequest(`unable to parse requirement: found '${term}', expected: identifier`);
  });
  return matchReqs(reqs);
}

/** metav1.LabelSelector; an empty selector matches everything (policy/v1 semantics). */
export function labelSelectorMatcher(sel: unknown): LabelMatcher {
  if (!isObject(sel)) return () => true;
  const reqs: Req[] = [];
  if (isObject(sel.matchLabels)) {
    for (const [k, v] of Object.entries(sel.matchLabels)) reqs.push({ key: k, op: '=', values: [String(v)] });
  }
  if (Array.isArray(sel.matchExpressions)) {
    for (const e of sel.matchExpressions) {
      if (!isObject(e)) continue;
      const op = String(e.operator);
      const values = Array.isArray(e.values) ? e.values.map(String) : [];
      const key = String(e.key);
      if (op === 'In') reqs.push({ key, op: 'in', values });
      else if (op === 'NotIn') reqs.push({ key, op: 'notin', values });
      else if (op === 'Exists') reqs.push({ key, op: 'exists', values });
      else if (op === 'DoesNotExist') reqs.push({ key, op: '!exists', values });
    }
  }
  return matchReqs(reqs);
}

/** Field selectors each resource supports (besides metadata.name / metadata.namespace). */
const FIELDS: Readonly<Record<string, Readonly<Record<string, (o: KubeObject) => string>>>> = {
  pods: {
    'spec.nodeName': (o) => String(field(o, 'spec', 'nodeName') ?? ''),
    'status.phase': (o) => String(field(o, 'status', 'phase') ?? ''),
    'spec.restartPolicy': (o) => String(field(o, 'spec', 'restartPolicy') ?? ''),
    'spec.schedulerName': (o) => String(field(o, 'spec', 'schedulerName') ?? ''),
    'spec.serviceAccountName': (o) => String(field(o, 'spec', 'serviceAccountName') ?? ''),
    'status.podIP': (o) => String(field(o, 'status', 'podIP') ?? ''),
  },
  nodes: { 'spec.unschedulable': (o) => String(field(o, 'spec', 'unschedulable') === true) },
  secrets: { type: (o) => String(o.type ?? '') },
  events: {
    'involvedObject.name': (o) => String(field(o, 'involvedObject', 'name') ?? ''),
    'involvedObject.kind': (o) => String(field(o, 'involvedObject', 'kind') ?? ''),
  },
};

export function parseFieldSelector(resource: string, s: string | null | undefined): ObjectMatcher {
  if (!s) return () => true;
  const getters: Record<string, (o: KubeObject) => string> = {
    'metadata.name': (o) => o.metadata.name,
    'metadata.namespace': (o) => o.metadata.namespace ?? '',
    ...(FIELDS[resource] ?? {}),
  };
  const tests = splitTerms(s).map((term) => {
    const m = /^([^=!]+)(==|=|!=)(.*)$/.exec(term);
    if (!m) throw errors.badRequest(`invalid selector: '${s}'; can't understand '${term}'`);
    const key = (m[1] as string).trim();
    const get = getters[key];
    if (!get) throw errors.badRequest(`field label not supported: ${key}`);
    const want = (m[3] as string).trim();
    const neg = m[2] === '!=';
    return (o: KubeObject): boolean => (get(o) === want) !== neg;
  });
  return (o) => tests.every((t) => t(o));
}
