// The #cloud-config document that joins a new server to a pool: a runcmd that downloads install.sh
// over TLS pinned to the hub CA (the CA is in the document, so not even the installer is fetched
// insecurely) and runs it with a fresh single-use token. The token goes to install.sh in its
// environment (ATOLL_TOKEN, set by the first runcmd line: cloud-init runs all of runcmd as one
// script), never on a command line that every user of the server could read in ps. YAML scalars are
// written as JSON strings, which YAML reads as double-quoted scalars.
import { JoinTokenFormatError } from '../../certs/join-token.js';

export interface CloudInitInput {
  hubUrl: string;
  caPem: string;
  token: string;
  tokenId: string;
  pool: string;
  expiresAt: string;
  labels: Record<string, string>;
  namePrefix?: string;
  k3s?: 'auto' | 'off';
}

/** The runcmd's shell program; its arguments: hub URL, CA PEM, then install.sh's options. */
export const CLOUD_INIT_FETCH_SCRIPT = [
  'set -u',
  'hub=$1; ca=$2; shift 2',
  'dir=$(mktemp -d) || exit 1',
  'trap \'rm -rf "$dir"\' EXIT',
  'printf \'%s\\n\' "$ca" >"$dir/ca.crt"',
  'if command -v curl >/dev/null 2>&1; then',
  '  curl -sSfL --cacert "$dir/ca.crt" --retry 10 --retry-delay 3 --retry-connrefused -o "$dir/install.sh" "$hub/install.sh"',
  'else',
  '  wget -q --ca-certificate="$dir/ca.crt" --tries=10 --waitretry=3 --retry-connrefused -O "$dir/install.sh" "$hub/install.sh"',
  'fi || { echo "atoll: cannot download $hub/install.sh" >&2; exit 1; }',
  '# Neither systemd nor OpenRC: the agent runs under its own restart loop (atoll-agent supervise).',
  'if [ -z "${ATOLL_SERVICE:-}" ] && ! { [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; } && ! command -v openrc-run >/dev/null 2>&1 && [ ! -x /sbin/openrc-run ]; then',
  '  export ATOLL_SERVICE=supervised',
  'fi',
  'sh "$dir/install.sh" --hub "$hub" "$@"',
].join('\n');

const q = (s: string): string => JSON.stringify(s);

const TOKEN_RE = /^AT1[0-9a-f]{64}::[a-z0-9]{8}\.[a-z0-9]{32}$/;

/** The runcmd line that hands the token to install.sh through the environment. */
export function tokenLine(token: string): string {
  if (!TOKEN_RE.test(token)) throw new JoinTokenFormatError('not a join token');
  return `export ATOLL_TOKEN='${token}'`;
}

/** install.sh's options (the token is not one: see tokenLine). */
export function installArgs(i: Pick<CloudInitInput, 'pool' | 'labels' | 'namePrefix' | 'k3s'>): string[] {
  const args = ['--pool', i.pool];
  for (const [k, v] of Object.entries(i.labels).sort(([a], [b]) => a.localeCompare(b)))
    args.push('--label', `${k}=${v}`);
  if (i.namePrefix) args.push('--node-name-prefix', i.namePrefix);
  if (i.k3s) args.push('--k3s', i.k3s);
  return args;
}

export function renderCloudInit(i: CloudInitInput): string {
  const argv = ['sh', '-c', CLOUD_INIT_FETCH_SCRIPT, 'atoll-cloud-init', i.hubUrl, i.caPem.trim(), ...installArgs(i)];
  return [
    '#cloud-config',
    `# atoll: joins this server to pool "${i.pool}" of the hub ${i.hubUrl}.`,
    `# It carries a single-use join token (id ${i.tokenId}) that expires at ${i.expiresAt}:`,
    '# use this document for one server, before then. The installer checks the hub against the CA',
    '# below and the pin in the token before it trusts anything it downloads. The token reaches it',
    '# in its environment, not on a command line.',
    'runcmd:',
    `  - ${q(tokenLine(i.token))}`,
    `  - - ${q(argv[0])}`,
    ...argv.slice(1).map((a) => `    - ${q(a)}`),
    '',
  ].join('\n');
}
