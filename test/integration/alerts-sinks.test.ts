// Alerts and the sinks through the real hub process: a node whose agent drops is an alert in
// GET /v1/alerts with a first-seen time that holds, raised and then resolved; both, and the audit
// events, reach a real HTTPS webhook on loopback that refuses its first attempts (retried, signed
// with the secret file's key) and a JSON-lines file (0600). A hub whose JSON-lines file sits on a
// full disk (/dev/full) keeps serving and counts what it drops.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { startHub, waitFor, removeDir, removeTree, scrapeMetrics, type HubHandle } from '../helpers/processes.js';
import { Puppet } from '../helpers/puppet.js';
import { createCa } from '../../certs/ca.js';
import { issueServerCert } from '../../certs/issue.js';

interface Hit {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}
interface Doc {
  kind: 'event' | 'alert';
  hub: string;
  state?: string;
  event?: { type: string; actor: string };
  alert?: { id: string; severity: string; since: string; message: string; link: string };
}
interface Alert {
  id: string;
  severity: string;
  since: string;
  message: string;
  link: string;
}

let work: string;
let server: Server;
const hits: Hit[] = [];
const hubs: HubHandle[] = [];
const puppets: Puppet[] = [];
const secret = randomBytes(24).toString('hex');

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'atoll-sinks-'));
  const ca = await createCa({ commonName: 'webhook-test-ca' });
  const cert = await issueServerCert(ca, {
    commonName: 'webhook',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
  });
  writeFileSync(join(work, 'webhook-ca.pem'), ca.certPem);
  // The receiver refuses its first two requests (503), then takes everything.
  server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = hits.length < 2 ? 503 : 200;
      hits.push({ status, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.statusCode = status;
      res.end();
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
});

after(async () => {
  for (const p of puppets) p.stop();
  for (const h of hubs) await h.stop('SIGKILL');
  for (const h of hubs) removeDir(h.dataDir);
  server?.closeAllConnections();
  await new Promise<void>((res) => (server ? server.close(() => res()) : res()));
  removeTree(work);
});

const delivered = (): Doc[] => hits.filter((h) => h.status === 200).map((h) => JSON.parse(h.body) as Doc);
const alertsOf = async (h: HubHandle): Promise<Alert[]> =>
  (await h.api<{ items: Alert[] }>('GET', '/v1/alerts')).body.items;

test('an unreachable node is an alert, raised and resolved, sent signed to an HTTPS webhook that fails at first, and to a JSON-lines file', async () => {
  const secretFile = join(work, 'webhook.key');
  writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });
  const jsonl = join(work, 'events.jsonl');
  const port = (server.address() as AddressInfo).port;
  const hub = await startHub({
    extraArgs: [
      '--events-webhook',
      `https://127.0.0.1:${port}/atoll`,
      '--events-webhook-secret-file',
      secretFile,
      '--events-jsonl',
      jsonl,
    ],
    env: { NODE_EXTRA_CA_CERTS: join(work, 'webhook-ca.pem') },
  });
  hubs.push(hub);

  // The first document (the hub's start) gets through on the third attempt, same delivery id.
  await waitFor('hub.started delivered', () => delivered().some((d) => d.event?.type === 'hub.started'), 20_000);
  const firstId = hits[0].headers['x-atoll-delivery'];
  assert.deepEqual(
    hits.filter((h) => h.headers['x-atoll-delivery'] === firstId).map((h) => h.status),
    [503, 503, 200],
  );
  for (const h of hits) {
    const ts = String(h.headers['x-atoll-timestamp']);
    const want = `sha256=${createHmac('sha256', secret).update(`${ts}.${h.body}`).digest('hex')}`;
    assert.equal(h.headers['x-atoll-signature'], want, 'signed with the key in the file (newline dropped)');
  }

  // A node joins (an audit event), then its agent drops: an alert, with a first-seen time that holds.
  const tok = await hub.api<{ token: string }>('POST', '/v1/tokens', {});
  const p = await Puppet.join(hub, tok.body.token, 'web-0');
  puppets.push(p);
  await waitFor(
    'node ready',
    async () => (await hub.api<{ state: string }>('GET', `/v1/nodes/${p.id}`)).body.state === 'ready',
  );
  p.disconnect();
  const id = `node-unreachable:${p.id}`;
  const raised = await waitFor('the alert', async () => (await alertsOf(hub)).find((a) => a.id === id), 20_000);
  assert.equal(raised.severity, 'critical');
  assert.equal(raised.link, `#/node/${p.id}`);
  assert.match(raised.message, /node web-0 \(pool default\) is unreachable/);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await alertsOf(hub)).find((a) => a.id === id)?.since, raised.since, 'since holds across calls');
  await waitFor('raised at the webhook', () =>
    delivered().some((d) => d.kind === 'alert' && d.state === 'raised' && d.alert?.id === id),
  );

  // The agent comes back: resolved.
  await p.connect();
  await waitFor('resolved', async () => !(await alertsOf(hub)).some((a) => a.id === id), 20_000);
  const resolved = await waitFor('resolved at the webhook', () =>
    delivered().find((d) => d.kind === 'alert' && d.state === 'resolved' && d.alert?.id === id),
  );
  assert.equal(resolved.alert?.since, raised.since);
  assert.ok(
    delivered().some((d) => d.event?.type === 'token.created' && d.event.actor === 'admin'),
    'audit events too',
  );

  // The same documents in the JSON-lines file, mode 0600.
  assert.equal(statSync(jsonl).mode & 0o777, 0o600);
  const lines = await waitFor('the file has the resolve', () => {
    const docs = readFileSync(jsonl, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Doc);
    return docs.some((d) => d.state === 'resolved' && d.alert?.id === id) && docs;
  });
  assert.ok(lines.some((d) => d.state === 'raised' && d.alert?.id === id));
  assert.ok(lines.some((d) => d.event?.type === 'hub.started'));
  const m = (await scrapeMetrics(hub)).body;
  assert.match(m, /^atoll_events_sink_failures_total\{sink="webhook"\} 2$/m);
  assert.match(m, /^atoll_events_sink_dropped_total\{sink="webhook",reason="overflow"\} 0$/m);
  assert.ok(Number(/^atoll_events_sink_delivered_total\{sink="jsonl"\} (\d+)$/m.exec(m)?.[1]) >= 4, m);
});

test(
  'a JSON-lines file on a full disk: the hub starts, serves and counts the lines it drops',
  { skip: existsSync('/dev/full') ? false : 'no /dev/full' },
  async () => {
    const hub = await startHub({ extraArgs: ['--events-jsonl', '/dev/full'] });
    hubs.push(hub);
    // Some audit events to write.
    for (let i = 0; i < 3; i++) assert.equal((await hub.api('POST', '/v1/tokens', {})).status, 201);
    const m = await waitFor('drops counted', async () => {
      const body = (await scrapeMetrics(hub)).body;
      const n = Number(/^atoll_events_sink_dropped_total\{sink="jsonl",reason="gave-up"\} (\d+)$/m.exec(body)?.[1]);
      return n >= 4 && body;
    });
    assert.match(m, /^atoll_events_sink_delivered_total\{sink="jsonl"\} 0$/m);
    assert.equal((await hub.api('GET', '/v1/cluster')).status, 200);
    assert.equal(hub.proc.child.exitCode, null, 'still running');
  },
);
