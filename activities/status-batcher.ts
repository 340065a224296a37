// Coalesces the pairs' status entries into one write per NodeENI at a time. Every pair of a NodeENI writes
// into the same object; one request per pair update made the kube-apiserver retry each write against the
// others (optimistic concurrency) and, at 100 nodes, spend its time on conflicts. Here a process keeps at
// most one write in flight per NodeENI and folds every update that arrives meanwhile into the next one.
import type { AttachmentStatus } from '../common/nodeeni.js';

/** The NodeENI as far as this module needs it. */
export interface StatusObject {
  metadata: { name: string; resourceVersion?: string };
  status?: { attachments?: AttachmentStatus[] };
}

/** The I/O: read the object, write its attachments guarded by resourceVersion. */
export interface StatusStore {
  /** undefined when the NodeENI does not exist. */
  get(name: string): Promise<StatusObject | undefined>;
  /** Replaces status.attachments if the object is still at resourceVersion; throws a StatusConflict if not. */
  writeAttachments(name: string, resourceVersion: string, attachments: AttachmentStatus[]): Promise<'written' | 'gone'>;
}

export class StatusConflict extends Error {}

/**
 * The attachments after replacing each listed node's entries (an entry belongs to the node named by nodeID)
 * with the new set; an empty set removes the node's entries. Entries keep their place; a new node's go last.
 */
export function mergePairEntries(existing: readonly AttachmentStatus[], updates: ReadonlyMap<string, readonly AttachmentStatus[]>): AttachmentStatus[] {
  const out: AttachmentStatus[] = [];
  const placed = new Set<string>();
  for (const e of existing) {
    const update = updates.get(e.nodeID);
    if (!update) {
      out.push(e);
      continue;
    }
    if (placed.has(e.nodeID)) continue;
    placed.add(e.nodeID);
    out.push(...update);
  }
  for (const [node, update] of updates) if (!placed.has(node)) out.push(...update);
  return out;
}

interface Waiter {
  resolve: (exists: boolean) => void;
  reject: (err: unknown) => void;
}

interface Pending {
  entries: Map<string, AttachmentStatus[]>;
  waiters: Waiter[];
}

export interface StatusBatcherOptions {
  /** Reads and writes before a batch gives up on conflicts with other writers (the activity then retries). */
  maxAttempts?: number;
  /**
   * Pause after a write, as a multiple of how long it took (capped by maxPauseMs): a loaded kube-apiserver
   * answers slower, so the writes of one NodeENI space out and carry more updates each.
   */
  pauseFactor?: number;
  maxPauseMs?: number;
  /** For tests: the clock and the sleep. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export class StatusBatcher {
  private readonly pending = new Map<string, Pending>();
  private readonly writing = new Set<string>();
  private readonly maxAttempts: number;
  private readonly pauseFactor: number;
  private readonly maxPauseMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** Writes made and batched updates, for tests and metrics. */
  readonly counters = { writes: 0, updates: 0, conflicts: 0 };

  constructor(
    private readonly store: StatusStore,
    o: StatusBatcherOptions = {},
  ) {
    this.maxAttempts = o.maxAttempts ?? 10;
    this.pauseFactor = o.pauseFactor ?? 2;
    this.maxPauseMs = o.maxPauseMs ?? 2000;
    this.now = o.now ?? Date.now;
    this.sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /**
   * Sets a node's entries of a NodeENI; resolves once they are written (true) or the NodeENI is gone (false).
   * A later update of the same node in the same batch supersedes an earlier one.
   */
  submit(nodeENI: string, nodeName: string, attachments: AttachmentStatus[]): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      let p = this.pending.get(nodeENI);
      if (!p) {
        p = { entries: new Map(), waiters: [] };
        this.pending.set(nodeENI, p);
      }
      p.entries.set(nodeName, attachments);
      p.waiters.push({ resolve, reject });
      this.counters.updates++;
      if (!this.writing.has(nodeENI)) void this.drain(nodeENI);
    });
  }

  private async drain(nodeENI: string): Promise<void> {
    this.writing.add(nodeENI);
    try {
      for (let batch = this.pending.get(nodeENI); batch; batch = this.pending.get(nodeENI)) {
        this.pending.delete(nodeENI);
        const started = this.now();
        try {
          const exists = await this.write(nodeENI, batch.entries);
          for (const w of batch.waiters) w.resolve(exists);
        } catch (err) {
          for (const w of batch.waiters) w.reject(err);
        }
        if (this.pending.has(nodeENI)) await this.sleep(Math.min(this.maxPauseMs, (this.now() - started) * this.pauseFactor));
      }
    } finally {
      this.writing.delete(nodeENI);
    }
  }

  private async write(nodeENI: string, updates: Map<string, AttachmentStatus[]>): Promise<boolean> {
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const current = await this.store.get(nodeENI);
      if (!current) return false;
      const next = mergePairEntries(current.status?.attachments ?? [], updates);
      try {
        const result = await this.store.writeAttachments(nodeENI, current.metadata.resourceVersion ?? '', next);
        this.counters.writes++;
        return result === 'written';
      } catch (err) {
        if (!(err instanceof StatusConflict)) throw err;
        this.counters.conflicts++;
      }
    }
    throw new StatusConflict(`NodeENI ${nodeENI}: status changed under ${this.maxAttempts} attempts in a row`);
  }
}
