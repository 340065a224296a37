// The proxy's configuration, as a test sets it through the control API: faults, EC2 semantics, token buckets.
import { z } from 'zod';
import { BucketSpecSchema } from '../ec2-buckets.js';

// Configuration (validated, so a typo in a test's PUT is a 400 and not a silently ignored field)

export const FaultsSchema = z
  .object({
    latencyMs: z.number().int().min(0).max(60_000),
    throttleRate: z.number().min(0).max(1),
    serverErrorRate: z.number().min(0).max(1),
    actions: z.array(z.string().min(1)).optional(),
    seed: z.number().int(),
  })
  .strict();
export type Faults = z.infer<typeof FaultsSchema>;

const WindowMs = z.number().int().min(0).max(600_000);
/** A window's length in ms: fixed, or drawn from [min, max] by the seeded PRNG (so runs repeat). */
const WindowSchema = z.union([WindowMs, z.tuple([WindowMs, WindowMs]).refine(([a, b]) => a <= b, 'range must be [min, max] with min <= max')]);
export type WindowSpec = z.infer<typeof WindowSchema>;

export const SemanticsSchema = z
  .object({
    clientToken: z.boolean(),
    attachingMs: WindowSchema,
    detachingMs: WindowSchema,
    /** Seeds the draws of the windows. */
    seed: z.number().int(),
    deviceIndexConflicts: z.boolean(),
    refuseDeleteInUse: z.boolean(),
    /** Attach only an ENI of the instance's availability zone. */
    availabilityZone: z.boolean(),
    /** At most the instance type's MaximumNetworkInterfaces, device indexes below it. */
    interfaceLimit: z.boolean(),
    /** An ENI's security groups exist and are in its subnet's VPC. */
    securityGroupVpc: z.boolean(),
    /**
     * IPv4 prefix delegation (/28 prefixes on CreateNetworkInterface, AssignPrivateIpAddresses,
     * UnassignPrivateIpAddresses, listed by DescribeNetworkInterfaces), which moto lacks; and the ENIs' private
     * addresses chosen by the proxy, so that none collides with a prefix or another ENI (moto draws them at random
     * from the whole subnet CIDR, reserved addresses included). Off: moto's own behaviour.
     */
    ipv4Prefixes: z.boolean(),
    /** An attached ENI holds at most its instance type's Ipv4AddressesPerInterface (each prefix counting as one). */
    addressLimit: z.boolean(),
  })
  .strict();
export type Semantics = z.infer<typeof SemanticsSchema>;

export const BucketsSchema = z
  .object({
    enabled: z.boolean(),
    /** By bucket key (the action, or `<Describe…> (unfiltered)`): an account's raised limits. */
    overrides: z.record(z.string().min(1), BucketSpecSchema),
  })
  .strict();
export type Buckets = z.infer<typeof BucketsSchema>;

export const DEFAULT_FAULTS: Faults = { latencyMs: 0, throttleRate: 0, serverErrorRate: 0, seed: 1 };
// EC2 reports an ENI `attaching` for a second or a few after AttachNetworkInterface, and `detaching` about as long.
export const DEFAULT_SEMANTICS: Semantics = {
  clientToken: true,
  attachingMs: [1000, 3000],
  detachingMs: [1000, 3000],
  seed: 1,
  deviceIndexConflicts: true,
  refuseDeleteInUse: true,
  availabilityZone: true,
  interfaceLimit: true,
  securityGroupVpc: true,
  ipv4Prefixes: true,
  addressLimit: true,
};
export const DEFAULT_BUCKETS: Buckets = { enabled: true, overrides: {} };

/** One window length from a fixed value or a [min, max] range. */
export function drawWindow(w: WindowSpec, rand: () => number): number {
  if (typeof w === 'number') return w;
  const [min, max] = w;
  return min + Math.floor(rand() * (max - min + 1));
}

/** Merges a partial PUT body into the current value; fields not given keep their value. `actions: null` clears the filter. */
export function mergeConfig<T extends object>(schema: z.ZodType<T>, current: T, patch: unknown): { ok: true; value: T } | { ok: false; error: string } {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return { ok: false, error: 'body must be a JSON object' };
  const merged: Record<string, unknown> = { ...(current as Record<string, unknown>), ...patch };
  for (const [k, v] of Object.entries(merged)) if (v === null) delete merged[k];
  const r = schema.safeParse(merged);
  return r.success ? { ok: true, value: r.data } : { ok: false, error: r.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ') };
}
