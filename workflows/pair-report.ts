// What a pair tells the user, off the critical path: its status entries and the Events of its steps, written by
// one `reportPair` activity at a time. `kick()` starts a write without waiting (EC2 work goes on meanwhile);
// `flush()` waits until everything noted so far is written, so the final status of a pass is never lost.
import { condition, log } from '@temporalio/workflow';
import type { EventInput, PairReportInput } from '../activities/kube.js';
import type { AttachmentStatus } from '../common/nodeeni.js';
import { describeFailure } from './failures.js';
import { statusKey } from './plan.js';

export interface ReportTarget {
  /** The pair's entries as they are now (without timestamps). */
  entries(): AttachmentStatus[];
  /** Who the report is about: NodeENI, node, uid. */
  subject(): { nodeENI: string; nodeName: string; uid: string; generation?: number };
  /** Writes one report (the activity). */
  write(input: PairReportInput, summary: string): Promise<unknown>;
  /** A unique, deterministic key for the next Event (retries must not write it twice). */
  eventKey(): string;
}

export class PairReporter {
  private events: EventInput[] = [];
  private inFlight: Promise<void> | undefined;
  /** The last write that failed for good (e.g. the status is refused), for the state query. */
  lastError: string | undefined;

  /** `lastKey` is the key of the status last written (carried across continue-as-new). */
  constructor(
    private readonly target: ReportTarget,
    public lastKey: string | undefined,
  ) {}

  /** Queues an Event for the next write. */
  note(type: 'Normal' | 'Warning', reason: string, message: string): void {
    const s = this.target.subject();
    this.events.push({ nodeENI: s.nodeENI, uid: s.uid, type, reason, message, key: this.target.eventKey() });
  }

  /** Starts one write of what changed, unless a write is in flight: a snapshot, not a chase of every step. */
  kick(): void {
    if (!this.inFlight && this.pending) this.inFlight = this.writeOnce().finally(() => (this.inFlight = undefined));
  }

  /**
   * Waits until the status as it is now and every Event noted so far are written, or until `stop()` turns true
   * (a release waiting: its EC2 work must not wait on the apiserver; a later flush writes what is left).
   */
  async flush(stop?: () => boolean): Promise<void> {
    for (;;) {
      if (stop?.()) return;
      if (this.inFlight) await (stop ? condition(() => !this.inFlight || stop()) : this.inFlight);
      else if (this.pending) this.kick();
      else return;
    }
  }

  /** Whether the status differs from the last one written or Events are waiting. */
  get pending(): boolean {
    return this.events.length > 0 || statusKey(this.target.entries()) !== this.lastKey;
  }

  private async writeOnce(): Promise<void> {
    const entries = this.target.entries();
    const key = statusKey(entries);
    const events = this.events.splice(0);
    const s = this.target.subject();
    const stamp = new Date().toISOString();
    const status = key !== this.lastKey ? { nodeENI: s.nodeENI, nodeName: s.nodeName, uid: s.uid, generation: s.generation, attachments: entries.map((e) => ({ ...e, lastUpdated: stamp })) } : undefined;
    const what = [status ? `status of ${s.nodeName}` : '', events.length ? `${events.length} event(s): ${[...new Set(events.map((e) => e.reason))].join(', ')}` : ''].filter(Boolean).join(' + ');
    try {
      await this.target.write({ ...(status ? { status } : {}), ...(events.length ? { events } : {}) }, what);
      this.lastError = undefined;
    } catch (err) {
      // Refused for good (a 4xx): keep the pair going; the next pass writes again.
      this.lastError = describeFailure(err);
      log.warn('pair report not written', { error: this.lastError });
    }
    this.lastKey = key;
  }
}
