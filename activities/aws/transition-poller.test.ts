import type { AttachmentStatus, NetworkInterface } from '@aws-sdk/client-ec2';
import type { Ec2Api } from './ec2-api.js';
import { DescribeFailed, MAX_IDS_PER_DESCRIBE, TransitionPoller, type DescribeClient, type PollerTimer, type WaitProgress } from './transition-poller.js';

/** Timers the test fires by hand. */
class ManualTimer implements PollerTimer {
  pending: { fn: () => void; ms: number }[] = [];
  set(fn: () => void, ms: number): void {
    this.pending.push({ fn, ms });
  }
  /** Fires the pending tick and lets the describes it sends be answered. */
  async fire(): Promise<number> {
    const t = this.pending.shift();
    if (!t) throw new Error('no tick pending');
    t.fn();
    await settle();
    return t.ms;
  }
}

const settle = () => new Promise((r) => setImmediate(r));

/** EC2 as a map of ENIs the test edits; records the IDs each describe asked for. */
class FakeEc2 implements DescribeClient {
  enis = new Map<string, NetworkInterface>();
  calls: string[][] = [];
  fail: unknown[] = [];
  async describeNetworkInterfaces(input: Parameters<Ec2Api['describeNetworkInterfaces']>[0]): ReturnType<Ec2Api['describeNetworkInterfaces']> {
    const filter = input.Filters.find((f) => f.Name === 'network-interface-id');
    if (!filter || 'NetworkInterfaceIds' in input) throw new Error('expected a network-interface-id filter and no IDs');
    this.calls.push(filter.Values ?? []);
    const err = this.fail.shift();
    if (err) throw err;
    return { NetworkInterfaces: (filter.Values ?? []).flatMap((id) => (this.enis.has(id) ? [this.enis.get(id)!] : [])) };
  }
  attaching(id: string, attachmentId = `attach-${id}`): void {
    this.enis.set(id, { NetworkInterfaceId: id, Status: 'in-use', Attachment: { AttachmentId: attachmentId, Status: 'attaching', DeleteOnTermination: false } });
  }
  setAttachment(id: string, status: AttachmentStatus, attachmentId = `attach-${id}`): void {
    this.enis.set(id, { NetworkInterfaceId: id, Status: 'in-use', Attachment: { AttachmentId: attachmentId, Status: status, DeleteOnTermination: false } });
  }
  available(id: string): void {
    this.enis.set(id, { NetworkInterfaceId: id, Status: 'available' });
  }
}

const awsError = (name: string, status: number) => Object.assign(new Error(`${name} message`), { name, $metadata: { httpStatusCode: status } });

function setup(opts: { pollMs?: number } = {}) {
  const ec2 = new FakeEc2();
  const timer = new ManualTimer();
  const logs: string[] = [];
  const poller = new TransitionPoller({ ec2, timer, pollMs: opts.pollMs ?? 1000, log: (m) => logs.push(m) });
  return { ec2, timer, logs, poller };
}

/** Records how a promise ended, without awaiting it. */
function track<T>(p: Promise<T>): { state: 'pending' | 'resolved' | 'rejected'; value?: T; error?: unknown } {
  const t: { state: 'pending' | 'resolved' | 'rejected'; value?: T; error?: unknown } = { state: 'pending' };
  p.then(
    (value) => Object.assign(t, { state: 'resolved', value }),
    (error: unknown) => Object.assign(t, { state: 'rejected', error }),
  );
  return t;
}

describe('TransitionPoller', () => {
  it('serves N waiters with one describe per tick, the first tick soon after the first arrival', async () => {
    const { ec2, timer, poller } = setup();
    const ids = ['eni-1', 'eni-2', 'eni-3', 'eni-4'];
    for (const id of ids) ec2.attaching(id);
    const attached = ids.slice(0, 3).map((id) => track(poller.waitAttached({ eniId: id, attachmentId: `attach-${id}` })));
    ec2.setAttachment('eni-4', 'attached');
    ec2.enis.get('eni-4')!.Status = 'in-use';
    const progress: WaitProgress[] = [];
    const detached = track(poller.waitDetached({ eniId: 'eni-4' }, { onPoll: (p) => progress.push(p) }));
    expect(timer.pending.map((t) => t.ms)).toEqual([250]);
    await timer.fire();
    expect(ec2.calls).toEqual([ids]);
    expect(progress).toEqual([{ status: 'attached', polls: 1 }]);
    ec2.setAttachment('eni-1', 'attached');
    ec2.setAttachment('eni-2', 'attached');
    expect(await timer.fire()).toBe(1000);
    expect(ec2.calls).toHaveLength(2);
    expect(attached.map((a) => a.state)).toEqual(['resolved', 'resolved', 'pending']);
    expect(attached[0]!.value).toMatchObject({ NetworkInterfaceId: 'eni-1', Attachment: { Status: 'attached' } });
    ec2.setAttachment('eni-3', 'attached');
    ec2.available('eni-4');
    await timer.fire();
    expect(ec2.calls[2]).toEqual(['eni-3', 'eni-4']);
    expect([attached[2]!.state, detached.state]).toEqual(['resolved', 'resolved']);
    // Nobody waits: no more ticks, no more describes.
    expect(timer.pending).toEqual([]);
    expect(poller.waiting).toBe(0);
  });

  it(`asks for at most ${MAX_IDS_PER_DESCRIBE} IDs per describe, once per ENI however many wait on it`, async () => {
    const { ec2, timer, poller } = setup();
    const ids = Array.from({ length: 450 }, (_, i) => `eni-${i}`);
    for (const id of ids) ec2.attaching(id);
    const waits = ids.map((id) => track(poller.waitAttached({ eniId: id, attachmentId: `attach-${id}` })));
    const twice = track(poller.waitAttached({ eniId: 'eni-0', attachmentId: 'attach-eni-0' }));
    await timer.fire();
    expect(ec2.calls.map((c) => c.length)).toEqual([200, 200, 50]);
    expect(ec2.calls.flat()).toEqual(ids);
    for (const id of ids) ec2.setAttachment(id, 'attached');
    await timer.fire();
    expect(waits.every((w) => w.state === 'resolved') && twice.state === 'resolved').toBe(true);
  });

  it('waitAttached fails AttachmentLost when the attachment changed or is detaching, EniGone when the ENI is gone', async () => {
    const { ec2, timer, poller } = setup();
    ec2.setAttachment('eni-other', 'attached', 'attach-new');
    ec2.setAttachment('eni-detaching', 'detaching');
    ec2.available('eni-bare');
    const other = track(poller.waitAttached({ eniId: 'eni-other', attachmentId: 'attach-old' }));
    const detaching = track(poller.waitAttached({ eniId: 'eni-detaching', attachmentId: 'attach-eni-detaching' }));
    const bare = track(poller.waitAttached({ eniId: 'eni-bare', attachmentId: 'attach-eni-bare' }));
    const gone = track(poller.waitAttached({ eniId: 'eni-gone', attachmentId: 'attach-eni-gone' }));
    await timer.fire();
    const failure = (t: { error?: unknown }) => {
      const e = t.error as { type?: string; message?: string; nonRetryable?: boolean };
      return [e.type, e.message, e.nonRetryable];
    };
    expect(failure(other)).toEqual(['AttachmentLost', 'ENI eni-other: attachment attach-old is attached', true]);
    expect(failure(detaching)).toEqual(['AttachmentLost', 'ENI eni-detaching: attachment attach-eni-detaching is detaching', true]);
    expect(failure(bare)).toEqual(['AttachmentLost', 'ENI eni-bare: attachment attach-eni-bare is gone', true]);
    expect(failure(gone)).toEqual(['EniGone', 'ENI eni-gone disappeared while attaching', true]);
    expect(timer.pending).toEqual([]);
  });

  it('waitDetached ends when the ENI is available without attachment, its attachment detached, or the ENI gone', async () => {
    const { ec2, timer, poller } = setup();
    ec2.setAttachment('eni-1', 'detaching');
    ec2.enis.set('eni-2', { NetworkInterfaceId: 'eni-2', Status: 'available', Attachment: { AttachmentId: 'attach-2', Status: 'detached' } });
    const one = track(poller.waitDetached({ eniId: 'eni-1' }));
    const two = track(poller.waitDetached({ eniId: 'eni-2' }));
    const three = track(poller.waitDetached({ eniId: 'eni-3' }));
    await timer.fire();
    expect([one.state, two.state, three.state]).toEqual(['pending', 'resolved', 'resolved']);
    ec2.available('eni-1');
    await timer.fire();
    expect(one.state).toBe('resolved');
  });

  it('does not judge a waiter by a describe sent before it arrived', async () => {
    const { ec2, timer, poller } = setup();
    ec2.available('eni-1');
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const send = ec2.describeNetworkInterfaces.bind(ec2);
    ec2.describeNetworkInterfaces = async (c) => {
      const out = await send(c); // the answer as of the call
      await held;
      return out;
    };
    const detach = track(poller.waitDetached({ eniId: 'eni-1' }));
    await timer.fire(); // in flight: eni-1 available, no attachment
    ec2.attaching('eni-1');
    const attach = track(poller.waitAttached({ eniId: 'eni-1', attachmentId: 'attach-eni-1' }));
    release();
    await settle();
    // That answer ends the detach wait; read for the attach wait it would say AttachmentLost.
    expect([detach.state, attach.state]).toEqual(['resolved', 'pending']);
    ec2.describeNetworkInterfaces = send;
    await timer.fire();
    expect(attach.state).toBe('pending');
    ec2.setAttachment('eni-1', 'attached');
    await timer.fire();
    expect(attach.state).toBe('resolved');
  });

  it('cancellation removes the waiter: it rejects with the reason and is no longer described', async () => {
    const { ec2, timer, poller } = setup();
    ec2.attaching('eni-1');
    ec2.attaching('eni-2');
    const ac = new AbortController();
    const cancelled = track(poller.waitAttached({ eniId: 'eni-1', attachmentId: 'attach-eni-1' }, { signal: ac.signal }));
    const other = track(poller.waitAttached({ eniId: 'eni-2', attachmentId: 'attach-eni-2' }));
    await timer.fire();
    ac.abort(new Error('cancelled by the workflow'));
    await settle();
    expect(cancelled).toMatchObject({ state: 'rejected', error: new Error('cancelled by the workflow') });
    expect(poller.waiting).toBe(1);
    await timer.fire();
    expect(ec2.calls[1]).toEqual(['eni-2']);
    expect(other.state).toBe('pending');
    // An already aborted signal never registers.
    await expect(poller.waitDetached({ eniId: 'eni-3' }, { signal: AbortSignal.abort(new Error('late')) })).rejects.toThrow('late');
    expect(poller.waiting).toBe(1);
  });

  it('keeps waiting through retryable describe errors (logged once), backs off while throttled, fails on permanent ones', async () => {
    const { ec2, timer, poller, logs } = setup();
    ec2.attaching('eni-1');
    const wait = track(poller.waitAttached({ eniId: 'eni-1', attachmentId: 'attach-eni-1' }));
    ec2.fail.push(awsError('InternalError', 500), awsError('InternalError', 500));
    await timer.fire();
    await timer.fire();
    expect(logs).toEqual(['attach/detach waits: DescribeNetworkInterfaces failed (InternalError: InternalError message); retrying']);
    expect(timer.pending.map((t) => t.ms)).toEqual([1000]);
    ec2.fail.push(awsError('RequestLimitExceeded', 503), awsError('RequestLimitExceeded', 503));
    await timer.fire();
    expect(timer.pending.map((t) => t.ms)).toEqual([2000]);
    await timer.fire();
    expect(timer.pending.map((t) => t.ms)).toEqual([4000]);
    await timer.fire(); // answered: back to the normal interval
    expect(timer.pending.map((t) => t.ms)).toEqual([1000]);
    expect(wait.state).toBe('pending');
    ec2.fail.push(awsError('UnauthorizedOperation', 403));
    await timer.fire();
    expect(wait.state).toBe('rejected');
    expect(wait.error).toBeInstanceOf(DescribeFailed);
    expect((wait.error as DescribeFailed).cause).toMatchObject({ name: 'UnauthorizedOperation' });
    expect(timer.pending).toEqual([]);
  });
});
