// Calls accounting: what every EC2 call that reached the proxy got (`GET /_proxy/calls`).
import { errorCodeOf } from './xml.js';

const RECENT_MAX = 200;

/** 'ok', 'throttled' (RequestLimitExceeded), '5xx', or the EC2 error code of a 4xx answer. */
export type Outcome = string;

export interface CallRecord {
  at: string;
  action: string;
  params: Record<string, string>;
  status: number;
  outcome: Outcome;
  /** False when the proxy answered itself (fault, idempotent replay, EC2 semantics, deferred detach). */
  forwarded: boolean;
  replayed?: boolean;
  /** The token bucket the call took from (or would have). */
  bucket?: string;
  /** The `attaching` (attach) or `detaching` (detach) window drawn for this call's ENI. */
  windowMs?: number;
  ms: number;
}

export interface ActionCounts {
  total: number;
  forwarded: number;
  outcomes: Record<string, number>;
}

export interface BucketCounts {
  total: number;
  ok: number;
  throttled: number;
}

export interface CallsReport {
  total: number;
  forwarded: number;
  byAction: Record<string, ActionCounts>;
  /** By token bucket: what the buckets were asked for, what they let through and what they refused. */
  byBucket: Record<string, BucketCounts>;
  recent: CallRecord[];
}

export function outcomeOf(status: number, body: string): Outcome {
  if (status < 300) return 'ok';
  const code = errorCodeOf(body);
  if (code === 'RequestLimitExceeded') return 'throttled';
  if (status >= 500) return '5xx';
  return code ?? `http-${status}`;
}

const emptyReport = (): CallsReport => ({ total: 0, forwarded: 0, byAction: {}, byBucket: {}, recent: [] });

export class Calls {
  private report: CallsReport = emptyReport();
  add(rec: CallRecord): void {
    const r = this.report;
    const a = (r.byAction[rec.action] ??= { total: 0, forwarded: 0, outcomes: {} });
    r.total++;
    a.total++;
    if (rec.forwarded) {
      r.forwarded++;
      a.forwarded++;
    }
    a.outcomes[rec.outcome] = (a.outcomes[rec.outcome] ?? 0) + 1;
    if (rec.bucket) {
      const b = (r.byBucket[rec.bucket] ??= { total: 0, ok: 0, throttled: 0 });
      b.total++;
      if (rec.outcome === 'throttled') b.throttled++;
      else if (rec.outcome === 'ok') b.ok++;
    }
    r.recent.push(rec);
    if (r.recent.length > RECENT_MAX) r.recent.shift();
  }
  snapshot(): CallsReport {
    return structuredClone(this.report);
  }
  reset(): void {
    this.report = emptyReport();
  }
}
