// EC2's request rate limiting as AWS documents it, for the emulator and for the benchmarks' bound.
//
// Source: Amazon EC2 Developer Guide, "Request throttling for the Amazon EC2 API", sections "Request token bucket
// sizes and refill rates" and "Uncategorized actions" (read 2026-12). EC2 throttles per account and Region with
// one token bucket per API action: a request takes one token; a bucket below its capacity gains `refillPerSecond`
// tokens a second; a request that finds no token fails with HTTP 503 `RequestLimitExceeded`, and other actions'
// buckets are not affected. The numbers:
//   - Non-mutating actions (Describe*, List*, Search*, Get* not listed elsewhere): capacity 100, refill 20/s.
//   - Unfiltered and unpaginated non-mutating actions: DescribeInstances, DescribeInstanceStatus,
//     DescribeNetworkInterfaces, DescribeSecurityGroups, DescribeSnapshots, DescribeSpotInstanceRequests and
//     DescribeVolumes, when called with neither a filter nor pagination, take from a smaller bucket: 50, 10/s.
//   - Mutating actions not listed elsewhere (AttachNetworkInterface, DetachNetworkInterface, CreateVpc, ...): 50, 5/s.
//   - Uncategorized actions with their own numbers, of those an ENI lifecycle uses: CreateNetworkInterface 100/5,
//     DeleteNetworkInterface 100/5, ModifyNetworkInterfaceAttribute 100/5, CreateTags 100/10, DeleteTags 100/10,
//     AssignPrivateIpAddresses 100/5, UnassignPrivateIpAddresses 100/5, AssignIpv6Addresses 100/5,
//     TerminateInstances 100/5, RunInstances 5/2, StartInstances 5/2.
// An account with raised limits (Service Quotas: "<Action> request bucket maximum capacity" and "... refill rate")
// sets its own numbers through `overrides`.
import { z } from 'zod';

export const BucketSpecSchema = z.object({ capacity: z.number().positive().max(1e6), refillPerSecond: z.number().positive().max(1e6) }).strict();
export type BucketSpec = z.infer<typeof BucketSpecSchema>;

export const NON_MUTATING: BucketSpec = { capacity: 100, refillPerSecond: 20 };
export const UNFILTERED_NON_MUTATING: BucketSpec = { capacity: 50, refillPerSecond: 10 };
export const MUTATING: BucketSpec = { capacity: 50, refillPerSecond: 5 };

/** Actions with their own documented numbers ("Uncategorized actions"), of those this project and its stack use. */
export const UNCATEGORIZED: Readonly<Record<string, BucketSpec>> = {
  CreateNetworkInterface: { capacity: 100, refillPerSecond: 5 },
  DeleteNetworkInterface: { capacity: 100, refillPerSecond: 5 },
  ModifyNetworkInterfaceAttribute: { capacity: 100, refillPerSecond: 5 },
  CreateTags: { capacity: 100, refillPerSecond: 10 },
  DeleteTags: { capacity: 100, refillPerSecond: 10 },
  AssignPrivateIpAddresses: { capacity: 100, refillPerSecond: 5 },
  UnassignPrivateIpAddresses: { capacity: 100, refillPerSecond: 5 },
  AssignIpv6Addresses: { capacity: 100, refillPerSecond: 5 },
  TerminateInstances: { capacity: 100, refillPerSecond: 5 },
  RunInstances: { capacity: 5, refillPerSecond: 2 },
  StartInstances: { capacity: 5, refillPerSecond: 2 },
};

const UNFILTERED_CAPABLE = new Set([
  'DescribeInstances',
  'DescribeInstanceStatus',
  'DescribeNetworkInterfaces',
  'DescribeSecurityGroups',
  'DescribeSnapshots',
  'DescribeSpotInstanceRequests',
  'DescribeVolumes',
]);

/** The suffix of the bucket key an unfiltered, unpaginated describe takes from. */
export const UNFILTERED_SUFFIX = ' (unfiltered)';

export const isNonMutating = (action: string): boolean => /^(Describe|List|Search|Get)[A-Z]/.test(action);

/**
 * The bucket a call takes its token from: one per action, plus the smaller one of an unfiltered and unpaginated
 * describe (no `Filter.N.*`, no `MaxResults`/`NextToken`). `overrides` is keyed by bucket key.
 */
export function bucketFor(action: string, params: ReadonlyMap<string, string>, overrides: Readonly<Record<string, BucketSpec>> = {}): { key: string; spec: BucketSpec } {
  let key = action;
  let spec: BucketSpec;
  if (UNFILTERED_CAPABLE.has(action) && ![...params.keys()].some((k) => k.startsWith('Filter.') || k === 'MaxResults' || k === 'NextToken')) {
    key = `${action}${UNFILTERED_SUFFIX}`;
    spec = UNFILTERED_NON_MUTATING;
  } else spec = UNCATEGORIZED[action] ?? (isNonMutating(action) ? NON_MUTATING : MUTATING);
  return { key, spec: overrides[key] ?? spec };
}

/** The spec of a bucket key as `bucketFor` would give it (for keys read back from a calls report). */
export function specOfKey(key: string, overrides: Readonly<Record<string, BucketSpec>> = {}): BucketSpec {
  if (overrides[key]) return overrides[key];
  if (key.endsWith(UNFILTERED_SUFFIX)) return UNFILTERED_NON_MUTATING;
  return UNCATEGORIZED[key] ?? (isNonMutating(key) ? NON_MUTATING : MUTATING);
}

/** A token bucket on a clock the caller passes in (milliseconds), so tests drive time instead of sleeping. */
export class TokenBucket {
  private level: number;
  private at: number;
  constructor(
    readonly spec: BucketSpec,
    now: number,
  ) {
    this.level = spec.capacity;
    this.at = now;
  }
  /** Tokens in the bucket at `now` (fractional: refill is continuous, as AWS's fractional rates imply). */
  tokens(now: number): number {
    if (now > this.at) {
      this.level = Math.min(this.spec.capacity, this.level + ((now - this.at) / 1000) * this.spec.refillPerSecond);
      this.at = now;
    }
    return this.level;
  }
  /** Takes one token if there is one. */
  take(now: number): boolean {
    if (this.tokens(now) < 1) return false;
    this.level -= 1;
    return true;
  }
  /** Milliseconds from `now` until a token is there (0 if one is). */
  msUntilToken(now: number): number {
    const t = this.tokens(now);
    return t >= 1 ? 0 : Math.ceil(((1 - t) / this.spec.refillPerSecond) * 1000);
  }
}

export interface BucketBound {
  /** The least time, in seconds, in which the buckets let these calls through (starting full). */
  seconds: number;
  /** The bucket that sets it (undefined when every bucket's burst covers its calls). */
  limitingBucket?: string;
}

/**
 * The least time EC2's buckets allow for `calls` successful requests per bucket key, starting from full buckets:
 * a bucket serves its capacity at once and `refillPerSecond` after that, so n calls need (n − capacity) / refill
 * seconds; the buckets run in parallel, so the bound is the largest of them. Dependencies between calls (an attach
 * after its create) are not in it: that is what a scenario's floor measures.
 */
export function bucketBound(calls: Readonly<Record<string, number>>, overrides: Readonly<Record<string, BucketSpec>> = {}): BucketBound {
  let best: BucketBound = { seconds: 0 };
  for (const [key, n] of Object.entries(calls)) {
    const spec = specOfKey(key, overrides);
    const s = Math.max(0, (n - spec.capacity) / spec.refillPerSecond);
    if (s > best.seconds) best = { seconds: s, limitingBucket: key };
  }
  return best;
}
