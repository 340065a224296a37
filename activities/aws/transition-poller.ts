// The attach and detach waits of one worker process, served together: every tick, one DescribeNetworkInterfaces
// filtered by `network-interface-id` for all the ENIs being waited on (up to 200 IDs per call), instead of one
// describe per ENI per wait. A filtered describe takes from EC2's larger describe bucket (100, 20/s).
import { ERROR_TYPES, isLiveAttachment } from '../../common/error-types.js';
import type { NetworkInterface } from '@aws-sdk/client-ec2';
import { ApplicationFailure } from '@temporalio/common';
import type { Ec2Api } from './ec2-api.js';
import { classifyEc2Error } from './ec2-errors.js';

export const MAX_IDS_PER_DESCRIBE = 200;

/** Timers, injectable so tests fire the ticks. */
export interface PollerTimer {
  set(fn: () => void, ms: number): void;
}

const realTimer: PollerTimer = { set: (fn, ms) => void setTimeout(fn, ms) };

/** The part of EC2 the poller uses. */
export type DescribeClient = Pick<Ec2Api, 'describeNetworkInterfaces'>;

export interface TransitionPollerOptions {
  ec2: DescribeClient;
  /** Interval of the ticks while anyone waits; default 1000. */
  pollMs?: number;
  /** Delay of the first tick after the poller was idle, so arrivals close together share it; default pollMs / 4. */
  firstPollMs?: number;
  /** Longest interval when EC2 throttles the describes; default 16000. */
  maxBackoffMs?: number;
  timer?: PollerTimer;
  log?: (message: string) => void;
}

/** What a wait saw at its last tick (for heartbeats). */
export interface WaitProgress {
  status: string;
  polls: number;
}

export interface WaitOptions {
  /** Aborting removes the waiter; the wait rejects with the signal's reason. */
  signal?: AbortSignal;
  onPoll?: (p: WaitProgress) => void;
}

/** A describe failed with an error a retry does not fix; `cause` is EC2's error. */
export class DescribeFailed extends Error {
  constructor(cause: unknown) {
    super(`DescribeNetworkInterfaces: ${classifyEc2Error(cause).message}`, { cause });
  }
}

type Verdict = { wait: string } | { done: NetworkInterface | undefined } | { fail: Error };

interface Waiter {
  eniId: string;
  judge: (n: NetworkInterface | undefined) => Verdict;
  settle: (v: { done: NetworkInterface | undefined } | { fail: unknown }) => void;
  onPoll?: (p: WaitProgress) => void;
  polls: number;
}

/** The ENI's attachment, if it has one (EC2 may omit Attachment or leave it without an ID). */
const attachmentOf = (n: NetworkInterface) => (n.Attachment?.AttachmentId ? n.Attachment : undefined);

/** waitAttached's reading of a describe: attached with this attachment, still attaching, or lost. */
export function judgeAttached(eniId: string, attachmentId: string, n: NetworkInterface | undefined): Verdict {
  if (!n) return { fail: ApplicationFailure.nonRetryable(`ENI ${eniId} disappeared while attaching`, ERROR_TYPES.eniGone) };
  const a = attachmentOf(n);
  if (a?.AttachmentId === attachmentId && a.Status === 'attached') return { done: n };
  if (!a || a.AttachmentId !== attachmentId || !isLiveAttachment({ status: a.Status })) {
    return { fail: ApplicationFailure.nonRetryable(`ENI ${eniId}: attachment ${attachmentId} is ${a?.Status ?? 'gone'}`, ERROR_TYPES.attachmentLost) };
  }
  return { wait: a.Status ?? 'unknown' };
}

/** waitDetached's reading: done once the ENI is available without an attachment, or gone. */
export function judgeDetached(n: NetworkInterface | undefined): Verdict {
  if (!n) return { done: undefined };
  const a = attachmentOf(n);
  if (n.Status === 'available' && (!a || a.Status === 'detached')) return { done: n };
  return { wait: a?.Status ?? n.Status ?? 'unknown' };
}

export class TransitionPoller {
  private readonly waiters = new Set<Waiter>();
  private readonly pollMs: number;
  private readonly firstPollMs: number;
  private readonly maxBackoffMs: number;
  private readonly timer: PollerTimer;
  private readonly log: (message: string) => void;
  private armed = false;
  private ticking = false;
  private throttledTicks = 0;
  private lastError: string | undefined;
  /** Describe calls made (for tests and logs). */
  describes = 0;

  constructor(private readonly o: TransitionPollerOptions) {
    this.pollMs = o.pollMs ?? 1000;
    this.firstPollMs = o.firstPollMs ?? Math.round(this.pollMs / 4);
    this.maxBackoffMs = o.maxBackoffMs ?? 16_000;
    this.timer = o.timer ?? realTimer;
    this.log = o.log ?? ((m) => console.warn(m));
  }

  /** ENIs being waited on. */
  get waiting(): number {
    return this.waiters.size;
  }

  /** Resolves with the ENI once `attachmentId` is attached; fails EniGone or AttachmentLost (non-retryable). */
  waitAttached(input: { eniId: string; attachmentId: string }, opts: WaitOptions = {}): Promise<NetworkInterface> {
    return this.add(input.eniId, (n) => judgeAttached(input.eniId, input.attachmentId, n), opts) as Promise<NetworkInterface>;
  }

  /** Resolves once the ENI is available without an attachment, or gone. */
  async waitDetached(input: { eniId: string }, opts: WaitOptions = {}): Promise<void> {
    await this.add(input.eniId, judgeDetached, opts);
  }

  private add(eniId: string, judge: Waiter['judge'], opts: WaitOptions): Promise<NetworkInterface | undefined> {
    const { signal } = opts;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const onAbort = () => w.settle({ fail: signal!.reason });
      const w: Waiter = {
        eniId,
        judge,
        onPoll: opts.onPoll,
        polls: 0,
        settle: (v) => {
          this.waiters.delete(w);
          signal?.removeEventListener('abort', onAbort);
          if ('done' in v) resolve(v.done);
          else reject(v.fail);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const idle = this.waiters.size === 0 && !this.ticking && !this.armed;
      this.waiters.add(w);
      if (idle) this.schedule(this.firstPollMs);
    });
  }

  private schedule(ms: number): void {
    if (this.armed) return;
    this.armed = true;
    this.timer.set(() => {
      this.armed = false;
      void this.tick();
    }, ms);
  }

  private async tick(): Promise<void> {
    // Only the waiters registered before the describe is sent: an answer from before an attach call returned
    // must not be read as that attachment being lost.
    const batch = [...this.waiters];
    if (batch.length === 0) return;
    this.ticking = true;
    let failed = false;
    let throttled = false;
    try {
      const ids = [...new Set(batch.map((w) => w.eniId))];
      const chunks: string[][] = [];
      for (let i = 0; i < ids.length; i += MAX_IDS_PER_DESCRIBE) chunks.push(ids.slice(i, i + MAX_IDS_PER_DESCRIBE));
      await Promise.all(
        chunks.map(async (chunk) => {
          const inChunk = new Set(chunk);
          const mine = batch.filter((w) => inChunk.has(w.eniId));
          let found: Map<string, NetworkInterface>;
          try {
            found = await this.describe(chunk);
          } catch (err) {
            failed = true;
            const c = classifyEc2Error(err);
            if (!c.retryable) {
              for (const w of mine) if (this.waiters.has(w)) w.settle({ fail: new DescribeFailed(err) });
              return;
            }
            throttled ||= c.throttled;
            const text = `${c.code}: ${c.message}`;
            if (text !== this.lastError) this.log(`attach/detach waits: DescribeNetworkInterfaces failed (${text}); retrying`);
            this.lastError = text;
            return;
          }
          for (const w of mine) {
            if (!this.waiters.has(w)) continue; // cancelled meanwhile
            const v = w.judge(found.get(w.eniId));
            if ('wait' in v) {
              w.polls++;
              w.onPoll?.({ status: v.wait, polls: w.polls });
            } else w.settle(v);
          }
        }),
      );
    } finally {
      this.ticking = false;
    }
    if (!failed) this.lastError = undefined;
    this.throttledTicks = throttled ? this.throttledTicks + 1 : 0;
    if (this.waiters.size > 0) this.schedule(Math.min(this.pollMs * 2 ** this.throttledTicks, Math.max(this.pollMs, this.maxBackoffMs)));
  }

  private async describe(ids: string[]): Promise<Map<string, NetworkInterface>> {
    const found = new Map<string, NetworkInterface>();
    let token: string | undefined;
    do {
      this.describes++;
      const r = await this.o.ec2.describeNetworkInterfaces({ Filters: [{ Name: 'network-interface-id', Values: ids }], NextToken: token });
      for (const n of r.NetworkInterfaces ?? []) if (n.NetworkInterfaceId) found.set(n.NetworkInterfaceId, n);
      token = r.NextToken;
    } while (token);
    return found;
  }
}
