// The controller's EC2 request budget: one token bucket per EC2 API action, as EC2 throttles, kept on the client so
// a call waits for its token in-process instead of spending a request on RequestLimitExceeded.
//
// Numbers: Amazon EC2 Developer Guide, "Request throttling for the Amazon EC2 API" (sections "Request token bucket
// sizes and refill rates" and "Uncategorized actions"). EC2 keeps one bucket per action, per account and Region; a
// request takes one token; a bucket refills continuously up to its capacity:
//   - non-mutating actions (Describe*, List*, Search*, Get*): capacity 100, 20/s;
//   - DescribeInstances, DescribeNetworkInterfaces, DescribeSecurityGroups (and a few more) called with neither a
//     filter nor pagination: a smaller bucket, 50, 10/s (IDs alone count as unfiltered);
//   - mutating actions not listed elsewhere (AttachNetworkInterface, DetachNetworkInterface, ...): 50, 5/s;
//   - CreateNetworkInterface, DeleteNetworkInterface, ModifyNetworkInterfaceAttribute: 100, 5/s; CreateTags,
//     DeleteTags: 100, 10/s.
// Accounts with raised limits (Service Quotas) give their numbers as overrides; `scale` is the share of them this
// process may use.
import type { EC2Client } from '@aws-sdk/client-ec2';
import { z } from 'zod';

export interface BucketSpec {
  capacity: number;
  ratePerSecond: number;
}

export const NON_MUTATING: BucketSpec = { capacity: 100, ratePerSecond: 20 };
export const UNFILTERED_NON_MUTATING: BucketSpec = { capacity: 50, ratePerSecond: 10 };
export const MUTATING: BucketSpec = { capacity: 50, ratePerSecond: 5 };

/** Actions with their own documented numbers, of those an ENI lifecycle may use. */
export const OWN_BUCKETS: Readonly<Record<string, BucketSpec>> = {
  CreateNetworkInterface: { capacity: 100, ratePerSecond: 5 },
  DeleteNetworkInterface: { capacity: 100, ratePerSecond: 5 },
  ModifyNetworkInterfaceAttribute: { capacity: 100, ratePerSecond: 5 },
  CreateTags: { capacity: 100, ratePerSecond: 10 },
  DeleteTags: { capacity: 100, ratePerSecond: 10 },
  AssignPrivateIpAddresses: { capacity: 100, ratePerSecond: 5 },
  UnassignPrivateIpAddresses: { capacity: 100, ratePerSecond: 5 },
  AssignIpv6Addresses: { capacity: 100, ratePerSecond: 5 },
};

/** Describes that take from the smaller bucket when called with neither a filter nor pagination. */
const UNFILTERED_CAPABLE = new Set([
  'DescribeInstances',
  'DescribeInstanceStatus',
  'DescribeNetworkInterfaces',
  'DescribeSecurityGroups',
  'DescribeSnapshots',
  'DescribeSpotInstanceRequests',
  'DescribeVolumes',
]);

/** Suffix of the key of an unfiltered describe's bucket, e.g. `DescribeNetworkInterfaces (unfiltered)`. */
export const UNFILTERED_SUFFIX = ' (unfiltered)';

/** Override keys that set a whole category's default (an action's or bucket's own key wins over them). */
export const CATEGORY_KEYS = ['non-mutating', 'unfiltered', 'mutating'] as const;

/** What an override key may be: a category, an action, or an action's unfiltered bucket. */
export const OVERRIDE_KEY = /^(non-mutating|unfiltered|mutating|[A-Z][A-Za-z0-9]+( \(unfiltered\))?)$/;

const isNonMutating = (action: string): boolean => /^(Describe|List|Search|Get)[A-Z]/.test(action);

/** The key of the bucket a call takes its token from. */
export function bucketKey(action: string, input: unknown): string {
  if (!UNFILTERED_CAPABLE.has(action)) return action;
  const i = (input ?? {}) as { Filters?: unknown[]; MaxResults?: unknown; NextToken?: unknown };
  const filtered = (Array.isArray(i.Filters) && i.Filters.length > 0) || i.MaxResults !== undefined || i.NextToken !== undefined;
  return filtered ? action : `${action}${UNFILTERED_SUFFIX}`;
}

export interface BudgetSettings {
  /** Share of EC2's (or the overrides') capacities and rates this process may use; default 1. */
  scale?: number;
  /** By bucket key, action or category: an account's raised limits. */
  overrides?: Readonly<Record<string, BucketSpec>>;
}

/** The numbers of a bucket: overrides first, then EC2's documented ones; scaled (capacity at least 1). */
export function bucketSpec(key: string, settings: BudgetSettings = {}): BucketSpec {
  const overrides = settings.overrides ?? {};
  const o = (k: string) => (Object.hasOwn(overrides, k) ? overrides[k] : undefined);
  const scale = settings.scale ?? 1;
  let spec: BucketSpec;
  if (o(key)) spec = o(key)!;
  else if (key.endsWith(UNFILTERED_SUFFIX)) spec = o('unfiltered') ?? UNFILTERED_NON_MUTATING;
  else spec = (Object.hasOwn(OWN_BUCKETS, key) ? OWN_BUCKETS[key] : undefined) ?? (isNonMutating(key) ? (o('non-mutating') ?? NON_MUTATING) : (o('mutating') ?? MUTATING));
  return { capacity: Math.max(1, spec.capacity * scale), ratePerSecond: spec.ratePerSecond * scale };
}

const BucketSpecSchema = z.object({ capacity: z.number().positive(), ratePerSecond: z.number().positive() }).strict();

/** Empty counts as unset (a chart renders unset values as ""). */
const unsetIfEmpty = (v: unknown) => (v === '' ? undefined : v);

/** The budget's settings in the controller's environment (part of workers/controller.ts ControllerEnvSchema). */
export const Ec2BudgetEnvSchema = z.object({
  /** Share of EC2's documented (or the overridden) capacities and rates this process may use: 0 < scale <= 1. */
  EC2_BUDGET_SCALE: z.preprocess(unsetIfEmpty, z.coerce.number().positive().max(1).default(1)),
  /** JSON object: action, bucket or category -> {capacity, ratePerSecond}, for an account with raised limits. */
  EC2_BUDGET_OVERRIDES: z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .transform((text, ctx) => {
        try {
          return JSON.parse(text) as unknown;
        } catch (e) {
          ctx.addIssue({ code: 'custom', message: `not JSON: ${(e as Error).message}` });
          return z.NEVER;
        }
      })
      .pipe(
        z.record(z.string(), BucketSpecSchema).superRefine((o, ctx) => {
          for (const key of Object.keys(o)) {
            if (OVERRIDE_KEY.test(key)) continue;
            ctx.addIssue({
              code: 'custom',
              path: [key],
              message: 'not an action (AttachNetworkInterface), a bucket (DescribeNetworkInterfaces (unfiltered)) or a category (mutating, non-mutating, unfiltered)',
            });
          }
        }),
      )
      .default({}),
  ),
});

/** Time and timers, injectable so tests drive them. */
export interface BudgetClock {
  now(): number;
  setTimer(fn: () => void, ms: number): void;
}

export const realClock: BudgetClock = {
  now: () => performance.now(),
  setTimer: (fn, ms) => void setTimeout(fn, ms),
};

/** A call refused without being sent: its wait for a token would exceed the budget's maxWaitMs. Retry later. */
export class Ec2BudgetExceeded extends Error {
  override readonly name = 'Ec2BudgetExceeded';
  readonly $fault = 'client';
}

interface Queued {
  resolve: (waitedMs: number) => void;
  since: number;
}

/** One bucket with a FIFO of the calls waiting for its tokens. */
class Bucket {
  private tokens: number;
  private at: number;
  private readonly queue: Queued[] = [];
  private timerSet = false;

  constructor(
    readonly key: string,
    readonly spec: BucketSpec,
    private readonly clock: BudgetClock,
  ) {
    this.tokens = spec.capacity;
    this.at = clock.now();
  }

  private refill(now: number): void {
    if (now > this.at) this.tokens = Math.min(this.spec.capacity, this.tokens + ((now - this.at) / 1000) * this.spec.ratePerSecond);
    this.at = Math.max(this.at, now);
  }

  /** Milliseconds until the next caller would get its token. */
  expectedWaitMs(): number {
    this.refill(this.clock.now());
    return Math.max(0, ((this.queue.length + 1 - this.tokens) / this.spec.ratePerSecond) * 1000);
  }

  /** Resolves, with the milliseconds waited, once this caller holds a token. */
  take(): Promise<number> {
    const now = this.clock.now();
    this.refill(now);
    if (this.queue.length === 0 && this.tokens >= 1) {
      this.tokens -= 1;
      return Promise.resolve(0);
    }
    return new Promise((resolve) => {
      this.queue.push({ resolve, since: now });
      this.arm();
    });
  }

  private arm(): void {
    if (this.timerSet || this.queue.length === 0) return;
    this.timerSet = true;
    const ms = Math.max(1, Math.ceil(((1 - this.tokens) / this.spec.ratePerSecond) * 1000));
    this.clock.setTimer(() => {
      this.timerSet = false;
      this.drain();
    }, ms);
  }

  private drain(): void {
    const now = this.clock.now();
    this.refill(now);
    // A hair under 1: the timer's rounding must not cost a round of 1 ms timers.
    while (this.queue.length > 0 && this.tokens >= 1 - 1e-9) {
      this.tokens = Math.max(0, this.tokens - 1);
      const q = this.queue.shift()!;
      q.resolve(now - q.since);
    }
    this.arm();
  }
}

export interface Ec2BudgetOptions extends BudgetSettings {
  /** A call whose wait would be longer fails at once with Ec2BudgetExceeded (a throttle); default 20 s. */
  maxWaitMs?: number;
  clock?: BudgetClock;
  /** A call waited `ms` for its token. */
  onWait?: (bucket: string, ms: number) => void;
  /** A call was refused (Ec2BudgetExceeded). */
  onRefused?: (bucket: string) => void;
  /** Called every 10 s while a call waits (the controller heartbeats its activity, so a long wait is not a hang). */
  whileWaiting?: () => void;
}

/** Every bucket of one process, created on first use. */
export class Ec2Budget {
  private readonly buckets = new Map<string, Bucket>();
  private readonly clock: BudgetClock;
  private readonly maxWaitMs: number;

  constructor(private readonly o: Ec2BudgetOptions = {}) {
    this.clock = o.clock ?? realClock;
    this.maxWaitMs = o.maxWaitMs ?? 20_000;
  }

  private bucket(key: string): Bucket {
    let b = this.buckets.get(key);
    if (!b) this.buckets.set(key, (b = new Bucket(key, bucketSpec(key, this.o), this.clock)));
    return b;
  }

  /** The numbers of a bucket as this budget uses them. */
  spec(key: string): BucketSpec {
    return this.bucket(key).spec;
  }

  /** Waits until the call's bucket has a token for it (FIFO per bucket). */
  async acquire(action: string, input: unknown): Promise<void> {
    const b = this.bucket(bucketKey(action, input));
    const expected = b.expectedWaitMs();
    if (expected > this.maxWaitMs) {
      this.o.onRefused?.(b.key);
      throw new Ec2BudgetExceeded(
        `${action}: the controller's EC2 budget (bucket ${b.key}: ${fmt(b.spec.capacity)}, ${fmt(b.spec.ratePerSecond)}/s) has no token for ${(expected / 1000).toFixed(1)} s, more than ${this.maxWaitMs / 1000} s`,
      );
    }
    const tick = this.o.whileWaiting && expected > 0 ? setInterval(this.o.whileWaiting, 10_000) : undefined;
    try {
      const waited = await b.take();
      if (waited > 0) this.o.onWait?.(b.key, waited);
    } finally {
      if (tick) clearInterval(tick);
    }
  }
}

const fmt = (n: number) => String(Math.round(n * 100) / 100);

/** Makes every send of this client wait for its action's token first (SDK middleware, initialize step). */
export function addEc2BudgetMiddleware(ec2: EC2Client, budget: Ec2Budget): void {
  ec2.middlewareStack.add(
    (next, context) => async (args) => {
      await budget.acquire(String(context.commandName ?? 'Unknown').replace(/Command$/, ''), args.input);
      return next(args);
    },
    // High priority: ahead of the call counter, so a refused call is not counted as sent.
    { step: 'initialize', name: 'multiEniEc2Budget', priority: 'high' },
  );
}
