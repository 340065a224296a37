// Reading Temporal failures inside workflow code: the message a user sees, the error type, agent absence.
import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/workflow';

function rootCause(err: unknown): unknown {
  let e: unknown = err;
  while (e instanceof ActivityFailure && e.cause) e = e.cause;
  return e;
}

/** AWS code and message (or the failure's own message) for the user. */
export function describeFailure(err: unknown): string {
  const e = rootCause(err);
  if (e instanceof ApplicationFailure) return e.message;
  if (e instanceof TimeoutFailure) return `timed out (${e.timeoutType})`;
  return e instanceof Error ? e.message : String(e);
}

/** The ApplicationFailure type under an activity failure, if any. */
export function failureType(err: unknown): string | undefined {
  const e = rootCause(err);
  return e instanceof ApplicationFailure ? (e.type ?? undefined) : undefined;
}

/** The activity failed because its retry policy ran out of attempts (the error itself was retryable). */
export function retriesExhausted(err: unknown): boolean {
  return err instanceof ActivityFailure && err.retryState === 'MAXIMUM_ATTEMPTS_REACHED';
}

/** No worker took the task in time: for a node task queue, the node agent is absent. */
export function isScheduleToStartTimeout(err: unknown): boolean {
  return err instanceof ActivityFailure && err.cause instanceof TimeoutFailure && err.cause.timeoutType === 'SCHEDULE_TO_START';
}
