import { AttachNetworkInterfaceCommand, DescribeNetworkInterfacesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { classifyEc2Error } from './ec2-errors.js';
import { addEc2BudgetMiddleware, bucketKey, bucketSpec, Ec2Budget, Ec2BudgetEnvSchema, Ec2BudgetExceeded, type BudgetClock } from './ec2-budget.js';
import { parseEnvOrExit } from '../../common/temporal-connection.js';

/** A clock that moves only when the test says so, firing due timers in order. */
class FakeClock implements BudgetClock {
  t = 0;
  private timers: { at: number; fn: () => void }[] = [];
  now(): number {
    return this.t;
  }
  setTimer(fn: () => void, ms: number): void {
    this.timers.push({ at: this.t + ms, fn });
  }
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
      await settle();
    }
    this.t = end;
    await settle();
  }
}

/** Lets resolved promises' callbacks run (no time passes on the fake clock): a few event-loop turns, not one. */
const settle = async () => {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
};

/** Starts n acquires and records, in order, which have their token. */
function start(budget: Ec2Budget, n: number, action: string, input: unknown = {}): { done: number[]; all: Promise<void[]> } {
  const done: number[] = [];
  const all = Promise.all(Array.from({ length: n }, (_, i) => budget.acquire(action, input).then(() => void done.push(i))));
  return { done, all };
}

describe('bucketKey: which bucket a call takes from', () => {
  it('an unfiltered, unpaginated describe of the listed actions takes from the smaller bucket; IDs alone are unfiltered', () => {
    expect(bucketKey('DescribeNetworkInterfaces', { NetworkInterfaceIds: ['eni-1'] })).toBe('DescribeNetworkInterfaces (unfiltered)');
    expect(bucketKey('DescribeNetworkInterfaces', {})).toBe('DescribeNetworkInterfaces (unfiltered)');
    expect(bucketKey('DescribeNetworkInterfaces', { Filters: [] })).toBe('DescribeNetworkInterfaces (unfiltered)');
    expect(bucketKey('DescribeInstances', { InstanceIds: ['i-1'] })).toBe('DescribeInstances (unfiltered)');
    expect(bucketKey('DescribeSecurityGroups', { GroupIds: ['sg-1'] })).toBe('DescribeSecurityGroups (unfiltered)');
  });

  it('a filter or pagination makes it filtered; other actions have one bucket each', () => {
    expect(bucketKey('DescribeNetworkInterfaces', { Filters: [{ Name: 'network-interface-id', Values: ['eni-1'] }] })).toBe('DescribeNetworkInterfaces');
    expect(bucketKey('DescribeNetworkInterfaces', { MaxResults: 5 })).toBe('DescribeNetworkInterfaces');
    expect(bucketKey('DescribeNetworkInterfaces', { NextToken: 't' })).toBe('DescribeNetworkInterfaces');
    expect(bucketKey('DescribeSubnets', { SubnetIds: ['subnet-1'] })).toBe('DescribeSubnets');
    expect(bucketKey('AttachNetworkInterface', { NetworkInterfaceId: 'eni-1' })).toBe('AttachNetworkInterface');
  });
});

describe('bucketSpec: EC2 numbers, overrides, scale', () => {
  it("has EC2's documented numbers", () => {
    expect(bucketSpec('DescribeNetworkInterfaces')).toEqual({ capacity: 100, ratePerSecond: 20 });
    expect(bucketSpec('DescribeSubnets')).toEqual({ capacity: 100, ratePerSecond: 20 });
    expect(bucketSpec('DescribeNetworkInterfaces (unfiltered)')).toEqual({ capacity: 50, ratePerSecond: 10 });
    expect(bucketSpec('AttachNetworkInterface')).toEqual({ capacity: 50, ratePerSecond: 5 });
    expect(bucketSpec('DetachNetworkInterface')).toEqual({ capacity: 50, ratePerSecond: 5 });
    expect(bucketSpec('CreateNetworkInterface')).toEqual({ capacity: 100, ratePerSecond: 5 });
    expect(bucketSpec('DeleteNetworkInterface')).toEqual({ capacity: 100, ratePerSecond: 5 });
    expect(bucketSpec('ModifyNetworkInterfaceAttribute')).toEqual({ capacity: 100, ratePerSecond: 5 });
    expect(bucketSpec('CreateTags')).toEqual({ capacity: 100, ratePerSecond: 10 });
    expect(bucketSpec('DeleteTags')).toEqual({ capacity: 100, ratePerSecond: 10 });
  });

  it('scales capacities and rates, never below one token of capacity', () => {
    expect(bucketSpec('AttachNetworkInterface', { scale: 0.5 })).toEqual({ capacity: 25, ratePerSecond: 2.5 });
    expect(bucketSpec('AttachNetworkInterface', { scale: 0.01 })).toEqual({ capacity: 1, ratePerSecond: 0.05 });
  });

  it("takes an override by bucket key, then by category, and scales it too; other buckets keep EC2's numbers", () => {
    const overrides = {
      AttachNetworkInterface: { capacity: 200, ratePerSecond: 20 },
      'DescribeNetworkInterfaces (unfiltered)': { capacity: 60, ratePerSecond: 12 },
      mutating: { capacity: 80, ratePerSecond: 8 },
      'non-mutating': { capacity: 300, ratePerSecond: 60 },
    };
    expect(bucketSpec('AttachNetworkInterface', { overrides })).toEqual({ capacity: 200, ratePerSecond: 20 });
    expect(bucketSpec('DetachNetworkInterface', { overrides })).toEqual({ capacity: 80, ratePerSecond: 8 });
    expect(bucketSpec('DescribeNetworkInterfaces (unfiltered)', { overrides })).toEqual({ capacity: 60, ratePerSecond: 12 });
    expect(bucketSpec('DescribeInstances (unfiltered)', { overrides })).toEqual({ capacity: 50, ratePerSecond: 10 });
    expect(bucketSpec('DescribeSubnets', { overrides })).toEqual({ capacity: 300, ratePerSecond: 60 });
    // An action with its own documented numbers is in no category.
    expect(bucketSpec('CreateNetworkInterface', { overrides })).toEqual({ capacity: 100, ratePerSecond: 5 });
    expect(bucketSpec('AttachNetworkInterface', { overrides, scale: 0.5 })).toEqual({ capacity: 100, ratePerSecond: 10 });
  });
});

describe('Ec2Budget', () => {
  it("lets a bucket's capacity through at once, then one call per 1/rate s, first come first served", async () => {
    const clock = new FakeClock();
    const budget = new Ec2Budget({ clock });
    const { done, all } = start(budget, 52, 'AttachNetworkInterface');
    await settle();
    expect(done).toEqual(Array.from({ length: 50 }, (_, i) => i));
    await clock.advance(199);
    expect(done).toHaveLength(50);
    await clock.advance(1);
    expect(done.slice(50)).toEqual([50]);
    await clock.advance(200);
    expect(done.slice(50)).toEqual([50, 51]);
    await all;
  });

  it('keeps actions apart: an empty attach bucket holds no describe, detach or create', async () => {
    const clock = new FakeClock();
    const budget = new Ec2Budget({ clock });
    const attaches = start(budget, 51, 'AttachNetworkInterface');
    await settle();
    expect(attaches.done).toHaveLength(50);
    const others = [
      start(budget, 1, 'DetachNetworkInterface'),
      start(budget, 1, 'CreateNetworkInterface'),
      start(budget, 100, 'DescribeNetworkInterfaces', { Filters: [{ Name: 'network-interface-id', Values: ['eni-1'] }] }),
    ];
    await settle();
    expect(others.map((o) => o.done.length)).toEqual([1, 1, 100]);
    expect(attaches.done).toHaveLength(50);
    await clock.advance(200);
    await attaches.all;
  });

  it('an unfiltered describe waits on its smaller bucket while filtered ones of the same action go through', async () => {
    const clock = new FakeClock();
    const budget = new Ec2Budget({ clock });
    const unfiltered = start(budget, 51, 'DescribeNetworkInterfaces', { NetworkInterfaceIds: ['eni-1'] });
    await settle();
    expect(unfiltered.done).toHaveLength(50);
    const filtered = start(budget, 1, 'DescribeNetworkInterfaces', { Filters: [{ Name: 'network-interface-id', Values: ['eni-1'] }] });
    await settle();
    expect(filtered.done).toHaveLength(1);
    await clock.advance(99);
    expect(unfiltered.done).toHaveLength(50);
    await clock.advance(1); // 10/s
    expect(unfiltered.done).toHaveLength(51);
  });

  it('applies scale and overrides', async () => {
    const clock = new FakeClock();
    const budget = new Ec2Budget({ clock, scale: 0.5, overrides: { DetachNetworkInterface: { capacity: 4, ratePerSecond: 2 } } });
    expect(budget.spec('AttachNetworkInterface')).toEqual({ capacity: 25, ratePerSecond: 2.5 });
    const attaches = start(budget, 26, 'AttachNetworkInterface');
    const detaches = start(budget, 3, 'DetachNetworkInterface');
    await settle();
    expect([attaches.done.length, detaches.done.length]).toEqual([25, 2]);
    await clock.advance(399);
    expect([attaches.done.length, detaches.done.length]).toEqual([25, 2]);
    await clock.advance(1); // attach 2.5/s: 400 ms
    expect(attaches.done).toHaveLength(26);
    await clock.advance(600); // detach 1/s after scaling: 1000 ms
    expect(detaches.done).toHaveLength(3);
  });

  it('refuses at once, as a throttle, a call whose wait would exceed maxWaitMs; reports waits and refusals', async () => {
    const clock = new FakeClock();
    const waits: [string, number][] = [];
    const refused: string[] = [];
    const budget = new Ec2Budget({
      clock,
      maxWaitMs: 2000,
      overrides: { AttachNetworkInterface: { capacity: 1, ratePerSecond: 1 } },
      onWait: (b, ms) => waits.push([b, ms]),
      onRefused: (b) => refused.push(b),
    });
    const ok = start(budget, 3, 'AttachNetworkInterface'); // now, at 1 s, at 2 s
    const err = await budget.acquire('AttachNetworkInterface', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Ec2BudgetExceeded);
    expect((err as Error).message).toBe("AttachNetworkInterface: the controller's EC2 budget (bucket AttachNetworkInterface: 1, 1/s) has no token for 3.0 s, more than 2 s");
    expect(classifyEc2Error(err)).toMatchObject({ code: 'Ec2BudgetExceeded', retryable: true, throttled: true });
    expect(refused).toEqual(['AttachNetworkInterface']);
    await clock.advance(2000);
    await ok.all;
    expect(waits).toEqual([
      ['AttachNetworkInterface', 1000],
      ['AttachNetworkInterface', 2000],
    ]);
  });
});

describe('addEc2BudgetMiddleware', () => {
  /** A client whose sends end right after the budget: they record the command and return an empty output. */
  function offlineClient(budget: Ec2Budget): { ec2: EC2Client; sent: string[] } {
    const ec2 = new EC2Client({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 's' } });
    const sent: string[] = [];
    addEc2BudgetMiddleware(ec2, budget);
    ec2.middlewareStack.add(
      (_next, context) => async () => {
        sent.push(String(context.commandName));
        return { output: { $metadata: {} }, response: {} };
      },
      { step: 'initialize', priority: 'low', name: 'offline' },
    );
    return { ec2, sent };
  }

  it("makes each send wait for its action's token before it goes out", async () => {
    const clock = new FakeClock();
    const budget = new Ec2Budget({ clock, overrides: { AttachNetworkInterface: { capacity: 1, ratePerSecond: 2 } } });
    const { ec2, sent } = offlineClient(budget);
    const attach = () => ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: 'eni-1', InstanceId: 'i-1', DeviceIndex: 1 }));
    const sends = [attach(), attach(), ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: ['eni-1'] }))];
    await settle();
    expect(sent).toEqual(['AttachNetworkInterfaceCommand', 'DescribeNetworkInterfacesCommand']);
    await clock.advance(500);
    expect(sent).toEqual(['AttachNetworkInterfaceCommand', 'DescribeNetworkInterfacesCommand', 'AttachNetworkInterfaceCommand']);
    await Promise.all(sends);
    ec2.destroy();
  });
});

describe("the budget's environment (EC2_BUDGET_SCALE, EC2_BUDGET_OVERRIDES)", () => {
  it('defaults to all of EC2\'s numbers; empty counts as unset', () => {
    expect(Ec2BudgetEnvSchema.parse({})).toEqual({ EC2_BUDGET_SCALE: 1, EC2_BUDGET_OVERRIDES: {} });
    expect(Ec2BudgetEnvSchema.parse({ EC2_BUDGET_SCALE: '', EC2_BUDGET_OVERRIDES: '' })).toEqual({ EC2_BUDGET_SCALE: 1, EC2_BUDGET_OVERRIDES: {} });
  });

  it('takes a scale and overrides by action, bucket or category', () => {
    const overrides = { AttachNetworkInterface: { capacity: 100, ratePerSecond: 10 }, 'DescribeNetworkInterfaces (unfiltered)': { capacity: 60, ratePerSecond: 12 }, mutating: { capacity: 80, ratePerSecond: 8 } };
    expect(Ec2BudgetEnvSchema.parse({ EC2_BUDGET_SCALE: '0.5', EC2_BUDGET_OVERRIDES: JSON.stringify(overrides) })).toEqual({ EC2_BUDGET_SCALE: 0.5, EC2_BUDGET_OVERRIDES: overrides });
  });

  it.each([
    ['a scale above 1', { EC2_BUDGET_SCALE: '1.5' }, 'EC2_BUDGET_SCALE: Too big'],
    ['a zero scale', { EC2_BUDGET_SCALE: '0' }, 'EC2_BUDGET_SCALE: Too small'],
    ['overrides that are not JSON', { EC2_BUDGET_OVERRIDES: '{AttachNetworkInterface: 1}' }, 'EC2_BUDGET_OVERRIDES: not JSON'],
    ['an override of an unknown kind of key', { EC2_BUDGET_OVERRIDES: '{"attach": {"capacity": 1, "ratePerSecond": 1}}' }, 'EC2_BUDGET_OVERRIDES: attach: not an action'],
    ['an override without its rate', { EC2_BUDGET_OVERRIDES: '{"AttachNetworkInterface": {"capacity": 1}}' }, 'EC2_BUDGET_OVERRIDES: AttachNetworkInterface.ratePerSecond: Invalid input'],
  ])('refuses %s, naming the variable (and the key)', (_what, env, message) => {
    const saved = { exit: process.exit, error: console.error };
    const printed: string[] = [];
    process.exit = ((code?: number) => {
      throw new Error(`exit ${code}`);
    }) as typeof process.exit;
    console.error = (m: unknown) => void printed.push(String(m));
    try {
      expect(() => parseEnvOrExit(Ec2BudgetEnvSchema, env)).toThrow('exit 2');
    } finally {
      process.exit = saved.exit;
      console.error = saved.error;
    }
    expect(printed.join('\n')).toContain(`  ${message}`);
  });
});
