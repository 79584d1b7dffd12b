// Version support for tests that are not about it: a k3s minor made "supported" for a year from
// today (PUT /v1/versions/support), so a fixed test version (v1.31.x) does not age into end of life.
import assert from 'node:assert/strict';
import type { HubHandle } from './processes.js';

export async function keepMinorSupported(hub: Pick<HubHandle, 'api'>, minor = '1.31'): Promise<void> {
  const day = (d: number): string => new Date(Date.now() + d * 86_400_000).toISOString().slice(0, 10);
  const r = await hub.api('PUT', '/v1/versions/support', {
    source: 'test fixture',
    minors: [{ minor, released: day(-300), endOfMaintenance: day(300), endOfLife: day(360) }],
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
}
