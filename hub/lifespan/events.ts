// The actor of lifespan's events and the event types it writes.
export const ACTOR = 'lifespan';
/** Steps of a replacement (create requested, new node Ready, old node removed, machine deleted). */
export const STEP = 'lifespan.step';
/** A failed step (the hook's create or delete failed, the new node was not Ready in time). */
export const FAILED = 'lifespan.failed';
/** A node over its pool's maxNodeAge in a pool without a provider hook: once per node. */
export const EXCEEDED = 'lifespan.exceeded';
