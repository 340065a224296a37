// EC2 errors as Temporal failures: AWS's code becomes the failure's type, its message the failure's, and the
// classification (activities/aws/ec2-errors.ts) decides whether Temporal retries and how soon.
import { ApplicationFailure, Context } from '@temporalio/activity';
import { classifyEc2Error } from './ec2-errors.js';

/** Turns an EC2 error into a Temporal failure that carries AWS's code and message. */
export function ec2Failure(action: string, err: unknown): ApplicationFailure {
  const c = classifyEc2Error(err);
  const message = `${action}: ${c.code}: ${c.message}`;
  if (!c.retryable) return ApplicationFailure.nonRetryable(message, c.code, { action, code: c.code, message: c.message });
  const attempt = Context.current().info.attempt;
  return ApplicationFailure.create({
    message,
    type: c.code,
    details: [{ action, code: c.code, message: c.message }],
    // Throttling backs off harder than the policy's default, with jitter so replicas do not retry in step.
    ...(c.throttled ? { nextRetryDelay: Math.min(30000, 500 * 2 ** Math.min(attempt, 6)) + Math.floor(Math.random() * 500) } : {}),
  });
}

/** Runs one EC2 call; its error leaves as ec2Failure(action). */
export async function ec2Call<T>(action: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw ec2Failure(action, err);
  }
}
