// The Store conformance suite against the embedded SQLite store: a fresh file per test.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../../hub/store/index.js';
import { storeConformance } from './conformance/index.js';

storeConformance('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'atoll-store-'));
  const store = await openSqliteStore({ path: join(dir, 'hub.db') });
  return {
    store,
    async cleanup() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
