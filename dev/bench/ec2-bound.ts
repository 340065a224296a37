// Pure helpers of the benchmark's EC2 figures (unit-tested in ec2-bound.test.ts): the bucket bound of a phase, the
// floor of a single node's join, and a one-line description of the strict emulator's settings.
import { bucketBound, type BucketBound, type BucketSpec } from '../stack/ec2-buckets.js';
import type { BucketCounts, CallRecord } from '../stack/ec2-proxy.js';

export type { BucketCounts, CallRecord };

export interface Ec2Bound extends BucketBound {
  /** The admitted calls by bucket key the bound is computed from. */
  okCalls: Record<string, number>;
}

/**
 * Admitted calls by bucket key: what the buckets had to let through. Every call the bucket admitted took a token,
 * whatever EC2 then answered (a refused device index too); throttled attempts took none.
 */
export function okCalls(byBucket: Readonly<Record<string, BucketCounts>>): Record<string, number> {
  return Object.fromEntries(Object.entries(byBucket).filter(([, b]) => b.total - b.throttled > 0).map(([k, b]) => [k, b.total - b.throttled]));
}

/** The least time EC2's buckets (with the account's `overrides`) allow for a phase's successful calls. */
export function ec2BucketBound(byBucket: Readonly<Record<string, BucketCounts>>, overrides: Readonly<Record<string, BucketSpec>> = {}): Ec2Bound {
  const ok = okCalls(byBucket);
  return { ...bucketBound(ok, overrides), okCalls: ok };
}

/** Throttled calls: the sum over the buckets. */
export function throttledTotal(byBucket: Readonly<Record<string, BucketCounts>>): number {
  return Object.values(byBucket).reduce((s, b) => s + b.throttled, 0);
}

/** Throttled calls by action, from the per-action outcomes (`byAction[a].outcomes.throttled`). */
export function throttledByAction(byAction: Readonly<Record<string, { outcomes?: Record<string, number> }>>): Record<string, number> {
  return Object.fromEntries(Object.entries(byAction).flatMap(([a, v]) => (v.outcomes?.throttled ? [[a, v.outcomes.throttled] as const] : [])));
}

/** An ENI of the joining node, as its NodeENI status shows it once Ready. */
export interface JoinEni {
  eniId: string;
  subnetId: string;
}

/** The EC2 steps of one ENI, in the order the controller makes them, each its proxy-measured answer time. */
export interface EniSteps extends JoinEni {
  createMs?: number;
  attachMs?: number;
  /** The `attaching` window the emulator drew at the attach (how long EC2 says `attaching`). */
  attachingMs?: number;
  modifyMs?: number;
  /** The steps in series; undefined when the create or the attach is not among the records. */
  totalMs?: number;
}

export interface JoinFloor {
  /** The largest of the ENIs' steps in series (they are independent of each other); undefined if one is incomplete. */
  floorMs?: number;
  /** The ENI that sets the floor. */
  slowest?: EniSteps;
  perEni: EniSteps[];
  /** What made the floor incomplete or approximate. */
  notes: string[];
}

/**
 * The floor of a node's join: for each of its ENIs, the EC2 steps' own latencies in series, as the proxy measured
 * them: CreateNetworkInterface (found by its subnet: the joining node has one ENI per subnet) + AttachNetworkInterface
 * + the `attaching` window drawn at that attach + ModifyNetworkInterfaceAttribute (DeleteOnTermination). Only calls
 * answered ok count, and the first of each (a throttled attempt is the buckets' doing, a replay is the proxy's
 * answer to a retry). `recent` must start at a calls reset made just before the join.
 */
export function joinFloor(recent: readonly CallRecord[], enis: readonly JoinEni[]): JoinFloor {
  const notes: string[] = [];
  const ok = recent.filter((r) => r.outcome === 'ok' && !r.replayed);
  const first = (action: string, key: string, value: string) => ok.find((r) => r.action === action && r.params[key] === value);
  const perEni = enis.map((e): EniSteps => {
    const create = first('CreateNetworkInterface', 'SubnetId', e.subnetId);
    const attach = first('AttachNetworkInterface', 'NetworkInterfaceId', e.eniId);
    const modify = first('ModifyNetworkInterfaceAttribute', 'NetworkInterfaceId', e.eniId);
    const s: EniSteps = { ...e, createMs: create?.ms, attachMs: attach?.ms, attachingMs: attach?.windowMs, modifyMs: modify?.ms };
    if (!create || !attach) notes.push(`${e.eniId}: no ok ${!create ? 'CreateNetworkInterface' : 'AttachNetworkInterface'} among the recorded calls`);
    else {
      if (attach.windowMs === undefined) notes.push(`${e.eniId}: the attach record has no windowMs (counted as 0)`);
      if (!modify) notes.push(`${e.eniId}: no ModifyNetworkInterfaceAttribute (counted as 0)`);
      s.totalMs = create.ms + attach.ms + (attach.windowMs ?? 0) + (modify?.ms ?? 0);
    }
    return s;
  });
  if (perEni.length === 0) notes.push('no ENIs');
  const complete = perEni.length > 0 && perEni.every((s) => s.totalMs !== undefined);
  if (!complete) return { perEni, notes };
  const slowest = perEni.reduce((a, b) => (b.totalMs! > a.totalMs! ? b : a));
  return { floorMs: slowest.totalMs, slowest, perEni, notes };
}

/** `1500` → "1500 ms", `[1000, 3000]` → "1000–3000 ms". */
export function windowText(w: unknown): string {
  if (typeof w === 'number') return `${w} ms`;
  if (Array.isArray(w) && w.length === 2 && w.every((x) => typeof x === 'number')) return `${w[0]}–${w[1]} ms`;
  return JSON.stringify(w) ?? '?';
}

/** The settings of the emulator (`GET /_proxy/semantics` and `GET /_proxy/buckets`) in one line. */
export function describeEc2(semantics: Record<string, unknown> | undefined, buckets: { enabled?: boolean; overrides?: Record<string, BucketSpec> } | undefined): string {
  const parts: string[] = [];
  if (semantics) {
    parts.push(`attaching ${windowText(semantics.attachingMs)}, detaching ${windowText(semantics.detachingMs)}${typeof semantics.seed === 'number' ? ` (seed ${semantics.seed})` : ''}`);
    const rules = Object.entries(semantics).filter(([, v]) => typeof v === 'boolean');
    const on = rules.filter(([, v]) => v).map(([k]) => k);
    const off = rules.filter(([, v]) => !v).map(([k]) => k);
    parts.push(`rules on: ${on.join(', ') || 'none'}${off.length ? `; off: ${off.join(', ')}` : ''}`);
  } else parts.push('semantics: not reported by the proxy');
  if (!buckets) parts.push('token buckets: not reported by the proxy');
  else if (!buckets.enabled) parts.push('token buckets: off');
  else {
    const o = Object.entries(buckets.overrides ?? {});
    parts.push(`EC2's token buckets on (documented numbers, dev/stack/ec2-buckets.ts)${o.length ? `, overrides: ${o.map(([k, s]) => `${k} ${s.capacity}/${s.refillPerSecond} per s`).join(', ')}` : ', no overrides'}`);
  }
  return parts.join('; ');
}
