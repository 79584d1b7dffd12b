// The Store conformance suite: every behaviour of the Store interface (hub/store/types.ts), written
// against the interface only, so each backend runs the same tests (sqlite.conformance.test.ts).
import { describe } from 'node:test';
import { concurrency } from './concurrency.js';
import { day2 } from './day2.js';
import { documents } from './documents.js';
import { enroll } from './enroll.js';
import { eventRetention } from './events-prune.js';
import { eventsAndSettings } from './events-settings.js';
import { nodesAndCerts } from './nodes-certs.js';
import { opener, type StoreFactory } from './open.js';
import { poolsAndTokens } from './pools-tokens.js';
import { healthHistory } from './health-history.js';
import { renewalAndCommands } from './renewal-commands.js';
import { secrets } from './secrets.js';
import { leases } from './leases.js';

export type { StoreFactory } from './open.js';

export function storeConformance(name: string, factory: StoreFactory): void {
  const open = opener(factory);
  void describe(`Store conformance: ${name}`, () => {
    poolsAndTokens(open);
    enroll(open);
    nodesAndCerts(open);
    eventsAndSettings(open);
    eventRetention(open);
    documents(open);
    day2(open);
    concurrency(open);
    healthHistory(open);
    renewalAndCommands(open);
    secrets(open);
    leases(open);
  });
}
