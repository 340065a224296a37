import { MUTATING, NON_MUTATING, TokenBucket, UNFILTERED_NON_MUTATING, bucketBound, bucketFor, specOfKey } from './ec2-buckets.js';

const params = (o: Record<string, string> = {}) => new Map(Object.entries(o));

describe('bucketFor: the documented bucket of each call', () => {
  it('gives the ENI actions their own numbers, other mutating actions 50/5 and describes 100/20', () => {
    expect(bucketFor('CreateNetworkInterface', params())).toEqual({ key: 'CreateNetworkInterface', spec: { capacity: 100, refillPerSecond: 5 } });
    expect(bucketFor('DeleteNetworkInterface', params()).spec).toEqual({ capacity: 100, refillPerSecond: 5 });
    expect(bucketFor('ModifyNetworkInterfaceAttribute', params()).spec).toEqual({ capacity: 100, refillPerSecond: 5 });
    expect(bucketFor('CreateTags', params()).spec).toEqual({ capacity: 100, refillPerSecond: 10 });
    expect(bucketFor('AttachNetworkInterface', params())).toEqual({ key: 'AttachNetworkInterface', spec: MUTATING });
    expect(bucketFor('DetachNetworkInterface', params()).spec).toEqual(MUTATING);
    expect(bucketFor('DescribeSubnets', params())).toEqual({ key: 'DescribeSubnets', spec: NON_MUTATING });
  });

  it('sends an unfiltered, unpaginated describe of the listed kinds to the smaller bucket', () => {
    expect(bucketFor('DescribeNetworkInterfaces', params())).toEqual({ key: 'DescribeNetworkInterfaces (unfiltered)', spec: UNFILTERED_NON_MUTATING });
    expect(bucketFor('DescribeNetworkInterfaces', params({ 'NetworkInterfaceId.1': 'eni-1' })).key).toBe('DescribeNetworkInterfaces (unfiltered)');
    expect(bucketFor('DescribeNetworkInterfaces', params({ 'Filter.1.Name': 'tag:x', 'Filter.1.Value.1': 'y' }))).toEqual({ key: 'DescribeNetworkInterfaces', spec: NON_MUTATING });
    expect(bucketFor('DescribeInstances', params({ MaxResults: '50' })).key).toBe('DescribeInstances');
    expect(bucketFor('DescribeSubnets', params()).key).toBe('DescribeSubnets'); // not in the list: always the standard bucket
  });

  it('takes an override by bucket key, and specOfKey agrees with bucketFor', () => {
    const overrides = { AttachNetworkInterface: { capacity: 500, refillPerSecond: 50 } };
    expect(bucketFor('AttachNetworkInterface', params(), overrides).spec).toEqual({ capacity: 500, refillPerSecond: 50 });
    for (const [a, p] of [
      ['AttachNetworkInterface', {}],
      ['CreateTags', {}],
      ['DescribeNetworkInterfaces', {}],
      ['DescribeNetworkInterfaces', { 'Filter.1.Name': 'x' }],
    ] as const) {
      const b = bucketFor(a, params(p), overrides);
      expect(specOfKey(b.key, overrides)).toEqual(b.spec);
    }
  });
});

describe('TokenBucket', () => {
  it('serves its capacity at once, refuses the next, and refills at its rate up to capacity', () => {
    const b = new TokenBucket({ capacity: 3, refillPerSecond: 2 }, 0);
    expect([b.take(0), b.take(0), b.take(0), b.take(0)]).toEqual([true, true, true, false]);
    expect(b.msUntilToken(0)).toBe(500);
    expect(b.take(499)).toBe(false);
    expect(b.take(500)).toBe(true);
    expect(b.tokens(100_000)).toBe(3);
  });
});

describe('bucketBound', () => {
  it('is zero while every bucket bursts its calls, else the slowest bucket draining at its refill rate', () => {
    expect(bucketBound({ AttachNetworkInterface: 50, CreateNetworkInterface: 100 })).toEqual({ seconds: 0 });
    // 300 attaches: 50 at once, 250 more at 5/s = 50 s; 300 creates: 100 at once, 200 at 5/s = 40 s.
    expect(bucketBound({ AttachNetworkInterface: 300, CreateNetworkInterface: 300, DescribeSubnets: 10 })).toEqual({ seconds: 50, limitingBucket: 'AttachNetworkInterface' });
    expect(bucketBound({ AttachNetworkInterface: 300 }, { AttachNetworkInterface: { capacity: 100, refillPerSecond: 100 } })).toEqual({ seconds: 2, limitingBucket: 'AttachNetworkInterface' });
  });
});
