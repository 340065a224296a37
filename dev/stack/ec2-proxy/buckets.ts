// The proxy's token buckets (EC2's per-API request rate limits, dev/stack/ec2-buckets.ts) over its state.
import { TokenBucket, type BucketSpec } from '../ec2-buckets.js';
import { clockNow, type ProxyState } from './state.js';

/** Takes a token from the bucket `key`; a bucket whose spec changed starts again, full. */
export function takeToken(state: ProxyState, key: string, spec: BucketSpec): boolean {
  let b = state.bucketState.get(key);
  if (!b || b.spec.capacity !== spec.capacity || b.spec.refillPerSecond !== spec.refillPerSecond) {
    b = new TokenBucket(spec, clockNow(state));
    state.bucketState.set(key, b);
  }
  return b.take(clockNow(state));
}

/** `GET /_proxy/buckets`: the configuration, the buckets' clock and each bucket's tokens. */
export function bucketsView(state: ProxyState) {
  const t = clockNow(state);
  return {
    ...state.buckets,
    nowMs: t,
    buckets: Object.fromEntries([...state.bucketState].map(([k, b]) => [k, { ...b.spec, tokens: Math.round(b.tokens(t) * 1000) / 1000 }])),
  };
}
