// A promise started for its effect and not awaited (a timer tick, a callback that must return void)
// gets `.catch(logFailure(log, 'what'))` where it starts: its failure is logged with the cause, never
// left to become an unhandledRejection. Shared by the hub and the agent.
export interface FailureLog {
  error(obj: object, msg: string): void;
}

export function logFailure(log: FailureLog, what: string): (err: unknown) => void {
  return (err: unknown) => log.error({ err }, `${what} failed`);
}
