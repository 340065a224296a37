// Runs an activity function in a MockActivityEnvironment with its result type kept (run() infers unknown).
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';

export function activityEnv(): MockActivityEnvironment {
  // Expected failures are part of these tests: only errors are worth printing.
  return new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') });
}

export function runActivity<A extends unknown[], R>(env: MockActivityEnvironment, fn: (...args: A) => Promise<R>, ...args: A): Promise<R> {
  return env.run(fn, ...args) as Promise<R>;
}
