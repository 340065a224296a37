// Failures the node agent raises. Bad input and device refusals are non-retryable: repeating the same
// request cannot succeed, and the workflow should surface the message (which names the field) to the user.
import { ApplicationFailure } from '@temporalio/common';
import { NODE_AGENT_ERRORS } from '../common/node-agent-contract.js';

export function badInput(field: string, reason: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`${field}: ${reason}`, NODE_AGENT_ERRORS.badInput, { field });
}

export function deviceRefused(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, NODE_AGENT_ERRORS.deviceRefused);
}

export function linkNotFound(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, NODE_AGENT_ERRORS.linkNotFound);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
