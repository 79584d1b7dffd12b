// Refused agent connections cannot flood the hub's log: 500 upgrade attempts without a client
// certificate all get 401, but the hub writes 5 "agent connection refused" lines for them and, when
// the window ends (here: at shutdown), one line saying how many it suppressed. Real hub, loopback.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { removeDir, startHub, type HubHandle } from '../helpers/processes.js';
import { wsConnect } from '../helpers/bad-input.js';

const ATTEMPTS = 500;
let hub: HubHandle;

before(async () => {
  hub = await startHub();
});

after(async () => {
  await hub?.stop('SIGKILL');
  if (hub) removeDir(hub.dataDir);
});

function logLines(): Array<{ msg: string; code?: string; suppressed?: number }> {
  return hub.proc
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg: string });
}

test(`${ATTEMPTS} refused connection attempts give a bounded number of log lines and one summary`, async () => {
  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < ATTEMPTS) {
      next++;
      const o = await wsConnect(hub);
      const status = o.kind === 'refused' ? o.status : -1;
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: 10 }, worker));
  assert.deepEqual([...statuses], [[401, ATTEMPTS]], 'every attempt was refused with 401');
  assert.equal((await hub.api('GET', '/healthz')).status, 200);

  const refused = logLines().filter((l) => l.msg === 'agent connection refused');
  assert.equal(refused.length, 5, `${refused.length} refusal lines for ${ATTEMPTS} attempts`);
  assert.ok(refused.every((l) => l.code === 'UNAUTHORIZED'));

  await hub.stop('SIGTERM');
  const summary = logLines().filter((l) => /agent connection refusals: suppressed/.test(l.msg));
  assert.equal(summary.length, 1, 'one summary line');
  assert.equal(summary[0].suppressed, ATTEMPTS - 5);
});
