// GET /metrics: Prometheus text with the hub's own metrics next to the process metrics.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, removeDir, waitFor, scrapeMetrics as scrape, type HubHandle } from '../helpers/processes.js';
import { Puppet } from '../helpers/puppet.js';

let hub: HubHandle | undefined;
const puppets: Puppet[] = [];
after(async () => {
  for (const p of puppets) p.stop();
  if (hub) {
    await hub.stop('SIGKILL');
    removeDir(hub.dataDir);
  }
});

function value(body: string, series: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.split(' ')[1]) : undefined;
}

test('metrics show agents, nodes by state and pool, joins by result, reports and the control plane', async () => {
  hub = await startHub();
  const h = hub;
  const tok = await h.api<{ token: string }>('POST', '/v1/tokens', { uses: 2 });
  puppets.push(await Puppet.join(h, tok.body.token, 'm1'), await Puppet.join(h, tok.body.token, 'm2'));
  const bad = await h.api('POST', '/v1/tokens', {});
  assert.equal(bad.status, 201);
  const m = await waitFor('two reports counted', async () => {
    const r = await scrape(h);
    return (value(r.body, 'atoll_health_reports_total') ?? 0) >= 2 ? r : undefined;
  });
  assert.equal(m.status, 200);
  assert.match(m.type, /text\/plain; version=0\.0\.4/);
  assert.equal(
    value(m.body, 'atoll_agents_connected'),
    2,
    m.body
      .split('\n')
      .filter((l) => l.startsWith('atoll_') && !l.startsWith('atoll_hub'))
      .join('\n'),
  );
  assert.equal(value(m.body, 'atoll_nodes{state="ready",pool="default"}'), 2);
  assert.equal(value(m.body, 'atoll_join_attempts_total{result="ok"}'), 2);
  assert.equal(value(m.body, 'atoll_k3s_server_state{state="absent"}'), 1);
  assert.equal(value(m.body, 'atoll_autoheal_frozen'), 0);
  assert.match(m.body, /# TYPE atoll_remediation_steps_total counter/);
  assert.match(m.body, /atoll_hub_process_resident_memory_bytes \d+/);
  // Every sample line is NAME{labels} VALUE, and every metric has HELP and TYPE.
  for (const line of m.body.split('\n').filter((l) => l && !l.startsWith('#')))
    assert.match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [-+0-9.eEInfNa]+$/, line);
});
