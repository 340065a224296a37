import { describeEc2, ec2BucketBound, joinFloor, okCalls, throttledByAction, throttledTotal, windowText, type CallRecord } from './ec2-bound.js';

const rec = (action: string, params: Record<string, string>, ms: number, extra: Partial<CallRecord> = {}): CallRecord => ({
  at: '2026-12-02T00:00:00.000Z',
  action,
  params,
  status: 200,
  outcome: 'ok',
  forwarded: true,
  ms,
  ...extra,
});

describe('bucket bound of a phase', () => {
  it('counts only the ok calls, and names the bucket that takes longest', () => {
    const byBucket = {
      CreateNetworkInterface: { total: 320, ok: 300, throttled: 20 }, // (300 - 100) / 5 = 40 s
      AttachNetworkInterface: { total: 300, ok: 300, throttled: 0 }, // (300 - 50) / 5 = 50 s
      DescribeNetworkInterfaces: { total: 710, ok: 700, throttled: 0 }, // 10 refused by EC2 took a token too: (710 - 100) / 20 = 30.5 s
      'DescribeNetworkInterfaces (unfiltered)': { total: 3, ok: 0, throttled: 3 },
    };
    expect(okCalls(byBucket)).toEqual({ CreateNetworkInterface: 300, AttachNetworkInterface: 300, DescribeNetworkInterfaces: 710 });
    const b = ec2BucketBound(byBucket);
    expect(b.seconds).toBeCloseTo(50);
    expect(b.limitingBucket).toBe('AttachNetworkInterface');
    expect(b.okCalls.CreateNetworkInterface).toBe(300);
    expect(throttledTotal(byBucket)).toBe(23);
  });

  it('is 0 with no limiting bucket when the bursts cover every call', () => {
    expect(ec2BucketBound({ CreateNetworkInterface: { total: 30, ok: 30, throttled: 0 } })).toEqual({ seconds: 0, okCalls: { CreateNetworkInterface: 30 } });
    expect(ec2BucketBound({})).toEqual({ seconds: 0, okCalls: {} });
  });

  it('uses the account overrides', () => {
    const b = ec2BucketBound({ AttachNetworkInterface: { total: 300, ok: 300, throttled: 0 } }, { AttachNetworkInterface: { capacity: 100, refillPerSecond: 10 } });
    expect(b.seconds).toBeCloseTo(20);
  });

  it('reads throttled calls by action from the outcomes', () => {
    expect(throttledByAction({ AttachNetworkInterface: { outcomes: { ok: 5, throttled: 2 } }, CreateNetworkInterface: { outcomes: { ok: 3 } }, X: {} })).toEqual({ AttachNetworkInterface: 2 });
  });
});

describe('floor of a node join', () => {
  const enis = [
    { eniId: 'eni-a1', subnetId: 'subnet-a1' },
    { eniId: 'eni-a2', subnetId: 'subnet-a2' },
    { eniId: 'eni-b', subnetId: 'subnet-b' },
  ];
  const steps = (eni: string, subnet: string, create: number, attach: number, window: number, modify: number): CallRecord[] => [
    rec('CreateNetworkInterface', { SubnetId: subnet, ClientToken: `t-${eni}` }, create),
    rec('DescribeNetworkInterfaces', {}, 7),
    rec('AttachNetworkInterface', { NetworkInterfaceId: eni, InstanceId: 'i-1', DeviceIndex: '1' }, attach, { windowMs: window }),
    rec('ModifyNetworkInterfaceAttribute', { NetworkInterfaceId: eni }, modify),
  ];

  it('sums each ENI’s create, attach, attaching window and modify, and takes the largest', () => {
    const recent = [...steps('eni-a1', 'subnet-a1', 20, 30, 1500, 10), ...steps('eni-b', 'subnet-b', 25, 35, 2800, 12), ...steps('eni-a2', 'subnet-a2', 20, 30, 1000, 10)];
    const f = joinFloor(recent, enis);
    expect(f.perEni.map((s) => s.totalMs)).toEqual([1560, 1060, 2872]);
    expect(f.floorMs).toBe(2872);
    expect(f.slowest).toMatchObject({ eniId: 'eni-b', createMs: 25, attachMs: 35, attachingMs: 2800, modifyMs: 12 });
    expect(f.notes).toEqual([]);
  });

  it('skips throttled attempts and replays, taking the first ok call of each step', () => {
    const recent = [
      rec('CreateNetworkInterface', { SubnetId: 'subnet-b' }, 1, { status: 503, outcome: 'throttled' }),
      rec('CreateNetworkInterface', { SubnetId: 'subnet-b' }, 40),
      rec('CreateNetworkInterface', { SubnetId: 'subnet-b' }, 2, { replayed: true }),
      rec('AttachNetworkInterface', { NetworkInterfaceId: 'eni-b' }, 1, { status: 503, outcome: 'throttled' }),
      rec('AttachNetworkInterface', { NetworkInterfaceId: 'eni-b' }, 50, { windowMs: 2000 }),
      rec('ModifyNetworkInterfaceAttribute', { NetworkInterfaceId: 'eni-b' }, 5),
    ];
    const f = joinFloor(recent, [enis[2]!]);
    expect(f.floorMs).toBe(40 + 50 + 2000 + 5);
  });

  it('has no floor when an ENI’s create or attach is missing, and says why', () => {
    const recent = [...steps('eni-a1', 'subnet-a1', 20, 30, 1500, 10), ...steps('eni-b', 'subnet-b', 25, 35, 2800, 12)];
    const f = joinFloor(recent, enis);
    expect(f.floorMs).toBeUndefined();
    expect(f.notes).toEqual(['eni-a2: no ok CreateNetworkInterface among the recorded calls']);
    expect(f.perEni[0]!.totalMs).toBe(1560);
  });

  it('counts a missing window or modify as 0, with a note', () => {
    const recent = [rec('CreateNetworkInterface', { SubnetId: 'subnet-b' }, 40), rec('AttachNetworkInterface', { NetworkInterfaceId: 'eni-b' }, 50)];
    const f = joinFloor(recent, [enis[2]!]);
    expect(f.floorMs).toBe(90);
    expect(f.notes).toHaveLength(2);
  });

  it('has no floor without ENIs', () => {
    expect(joinFloor([], [])).toEqual({ perEni: [], notes: ['no ENIs'] });
  });
});

describe('emulator description', () => {
  it('prints windows as fixed values or ranges', () => {
    expect(windowText(1500)).toBe('1500 ms');
    expect(windowText([1000, 3000])).toBe('1000–3000 ms');
    expect(windowText(undefined)).toBe('?');
  });

  it('names the windows, the rules and the buckets', () => {
    const line = describeEc2(
      { clientToken: true, attachingMs: [1000, 3000], detachingMs: 1500, seed: 1, deviceIndexConflicts: true, availabilityZone: false },
      { enabled: true, overrides: { AttachNetworkInterface: { capacity: 100, refillPerSecond: 10 } } },
    );
    expect(line).toBe(
      "attaching 1000–3000 ms, detaching 1500 ms (seed 1); rules on: clientToken, deviceIndexConflicts; off: availabilityZone; EC2's token buckets on (documented numbers, dev/stack/ec2-buckets.ts), overrides: AttachNetworkInterface 100/10 per s",
    );
    expect(describeEc2(undefined, { enabled: false, overrides: {} })).toBe('semantics: not reported by the proxy; token buckets: off');
  });
});
