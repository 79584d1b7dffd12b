// The removal watch (hub/cluster/removal-watch.ts) when the event feed reports a gap (other hubs'
// events may have been skipped): every agent connected here is checked against the store. One whose
// node is gone is told (retired); the others get their k3s assignment as stored again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startRemovalWatch, type RemovalWatchDeps } from '../../../hub/cluster/removal-watch.js';
import { createLogger } from '../../../hub/logger.js';
import type { EventRecord, NodeRecord } from '../../../hub/store/types.js';

test('a gap in the feed: removed nodes connected here are told, the others re-sent their assignment', async () => {
  let onEvent: ((e: EventRecord) => void) | undefined;
  let onGap: (() => void) | undefined;
  const links = ['kept', 'removed'].map((nodeId) => ({ nodeId, k3sMode: 'agent' }));
  const retired: string[] = [];
  const assigned: string[] = [];
  const stored = new Set(['kept']);
  const deps = {
    feed: {
      subscribe: (l: (e: EventRecord) => void, g?: () => void) => {
        onEvent = l;
        onGap = g;
        return () => undefined;
      },
    },
    store: {
      getNode: (id: string) => Promise.resolve(stored.has(id) ? ({ id } as NodeRecord) : undefined),
      listNodes: () => Promise.resolve([...stored].map((id) => ({ id }) as NodeRecord)),
    },
    registry: {
      link: (id: string) => links.find((l) => l.nodeId === id),
      links: () => links,
      retire: (id: string) => {
        retired.push(id);
        return Promise.resolve(true);
      },
    },
    assign: (link: { nodeId: string }) => {
      assigned.push(link.nodeId);
      return Promise.resolve();
    },
    logger: createLogger('silent'),
  } as unknown as RemovalWatchDeps;
  startRemovalWatch(deps);
  assert.ok(onEvent && onGap, 'the watch takes events and gaps');
  onGap();
  await sleep(20);
  assert.deepEqual(retired, ['removed'], 'the node gone from the store is told');
  assert.deepEqual(assigned, ['kept'], 'the other gets its assignment again');
});
