// GET /metrics passes `promtool check metrics` (Debian's prometheus package), with nodes joined,
// so the per-node series (certificate expiry) are present.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startHub, removeDir, waitFor, scrapeMetrics, type HubHandle } from '../helpers/processes.js';
import { Puppet } from '../helpers/puppet.js';

const promtool = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).stdout.trim();
let hub: HubHandle | undefined;
const puppets: Puppet[] = [];
after(async () => {
  for (const p of puppets) p.stop();
  if (hub) {
    await hub.stop('SIGKILL');
    removeDir(hub.dataDir);
  }
});

const scrape = async (h: HubHandle): Promise<string> => (await scrapeMetrics(h)).body;

test(
  'promtool check metrics accepts GET /metrics',
  { skip: promtool ? false : 'promtool is not installed (apt-get install prometheus)' },
  async () => {
    hub = await startHub();
    const h = hub;
    const tok = await h.api<{ token: string }>('POST', '/v1/tokens', { uses: 2 });
    puppets.push(await Puppet.join(h, tok.body.token, 'prom-1'), await Puppet.join(h, tok.body.token, 'prom-2'));
    const body = await waitFor('both nodes in the metrics', async () => {
      const b = await scrape(h);
      return /atoll_nodes\{state="ready",pool="default"\} 2/.test(b) && b;
    });
    assert.match(body, /atoll_node_cert_expiry_timestamp_seconds\{node="prom-1",pool="default"\} \d+/);
    const soon = /atoll_cert_expiry_soonest_timestamp_seconds (\d+(\.\d+)?)/.exec(body);
    assert.ok(
      soon,
      body
        .split('\n')
        .filter((l) => l.includes('cert'))
        .join('\n'),
    );
    assert.ok(Number(soon[1]) * 1000 > Date.now() + 3_600_000, soon[0]);
    assert.match(body, /# TYPE atoll_upgrade_steps_total counter/);
    const r = spawnSync(promtool, ['check', 'metrics'], { input: body, encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 0, `promtool: ${r.stdout}${r.stderr}`);
  },
);
