// Classifies EC2 errors into retryable and not, keeping AWS's code and message for the user.
// Pure: unit-tested without EC2.
import { ERROR_TYPES } from '../../common/error-types.js';

export interface ClassifiedError {
  code: string;
  message: string;
  retryable: boolean;
  /** Throttling: a hint for the next retry delay. */
  throttled: boolean;
}

/** Codes that a retry cannot fix: the user (or an administrator) must change something. */
const PERMANENT = new Set([
  'InvalidSubnetID.NotFound',
  'InvalidSubnetID.Malformed',
  'InvalidSubnet',
  'InvalidGroup.NotFound',
  'InvalidGroupId.Malformed',
  'InvalidSecurityGroupID.NotFound',
  'InvalidParameterValue',
  'InvalidParameterCombination',
  'InvalidParameter',
  'MissingParameter',
  'UnauthorizedOperation',
  'AuthFailure',
  'OptInRequired',
  'Blocked',
  'NetworkInterfaceLimitExceeded',
  'AttachmentLimitExceeded',
  'InsufficientFreeAddressesInSubnet',
  'PrivateIpAddressLimitExceeded',
  'InvalidIPAddress.InUse',
  'InvalidInstanceID.NotFound',
  'InvalidInstanceID.Malformed',
  'InvalidNetworkInterfaceID.Malformed',
  'InvalidClientTokenId',
  'IdempotentParameterMismatch',
]);

/** Codes of transient states and service trouble: retried with backoff. Ec2BudgetExceeded is the controller's own budget (activities/aws/ec2-budget.ts). */
const THROTTLING = new Set(['RequestLimitExceeded', 'Throttling', 'ThrottlingException', 'TooManyRequestsException', 'RequestThrottled', 'Ec2BudgetExceeded']);
const TRANSIENT = new Set([
  'InternalError',
  'InternalFailure',
  'ServiceUnavailable',
  'Unavailable',
  'IncorrectState',
  'IncorrectInstanceState',
  'InvalidNetworkInterface.InUse',
  'DependencyViolation',
  'ConcurrentTagAccess',
]);

export const DEVICE_INDEX_CONFLICT = ERROR_TYPES.deviceIndexConflict;

interface AwsLikeError {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $fault?: 'client' | 'server';
}

export function classifyEc2Error(err: unknown): ClassifiedError {
  const e = (err ?? {}) as AwsLikeError;
  const code = e.Code ?? e.code ?? e.name ?? 'UnknownError';
  const message = e.message ?? String(err);
  const status = e.$metadata?.httpStatusCode;
  if (code === 'InvalidParameterValue' && /already has an interface attached at device index/i.test(message)) {
    return { code: DEVICE_INDEX_CONFLICT, message, retryable: false, throttled: false };
  }
  if (THROTTLING.has(code)) return { code, message, retryable: true, throttled: true };
  if (TRANSIENT.has(code)) return { code, message, retryable: true, throttled: false };
  if (PERMANENT.has(code)) return { code, message, retryable: false, throttled: false };
  if (status !== undefined && status >= 500) return { code, message, retryable: true, throttled: false };
  if (e.$fault === 'server') return { code, message, retryable: true, throttled: false };
  // Network errors (no HTTP status: ECONNREFUSED, timeouts) are transient; unknown 4xx are not.
  if (status === undefined) return { code, message, retryable: true, throttled: false };
  return { code, message, retryable: false, throttled: false };
}

export function errorCode(err: unknown): string {
  const e = (err ?? {}) as AwsLikeError;
  return e.Code ?? e.code ?? e.name ?? 'UnknownError';
}
