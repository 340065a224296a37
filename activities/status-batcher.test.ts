import type { AttachmentStatus } from '../common/nodeeni.js';
import { mergePairEntries, StatusBatcher, StatusConflict, type StatusObject, type StatusStore } from './status-batcher.js';

const entry = (nodeID: string, subnetID: string, phase: AttachmentStatus['phase'] = 'Ready'): AttachmentStatus => ({ nodeID, subnetID, phase });

describe('mergePairEntries', () => {
  const existing = [entry('a', 's1'), entry('a', 's2'), entry('b', 's1'), entry('c', 's1')];

  it("replaces a node's entries in place and leaves other nodes' entries alone", () => {
    const next = mergePairEntries(existing, new Map([['a', [entry('a', 's1', 'Attaching')]]]));
    expect(next).toEqual([entry('a', 's1', 'Attaching'), entry('b', 's1'), entry('c', 's1')]);
  });

  it("removes a node's entries with an empty set and appends a new node's", () => {
    const next = mergePairEntries(existing, new Map([['b', []], ['d', [entry('d', 's1')]]]));
    expect(next.map((e) => `${e.nodeID}/${e.subnetID}`)).toEqual(['a/s1', 'a/s2', 'c/s1', 'd/s1']);
  });
});

/** An in-memory NodeENI store with resourceVersion checks; a write can be held to let updates pile up. */
class MemoryStore implements StatusStore {
  obj: StatusObject | undefined = { metadata: { name: 'n', resourceVersion: '1' }, status: { attachments: [] } };
  writes: AttachmentStatus[][] = [];
  held: (() => void) | undefined;
  hold = false;
  /** Bumps the resourceVersion before the next N writes, as another writer would. */
  interfere = 0;

  async get(): Promise<StatusObject | undefined> {
    return this.obj && structuredClone(this.obj);
  }
  async writeAttachments(_name: string, rv: string, attachments: AttachmentStatus[]): Promise<'written' | 'gone'> {
    if (this.hold) await new Promise<void>((r) => (this.held = r));
    if (!this.obj) return 'gone';
    if (this.interfere > 0) {
      this.interfere--;
      this.obj.metadata.resourceVersion = String(Number(this.obj.metadata.resourceVersion) + 1);
    }
    if (rv !== this.obj.metadata.resourceVersion) throw new StatusConflict('conflict');
    this.obj = { metadata: { name: 'n', resourceVersion: String(Number(rv) + 1) }, status: { attachments } };
    this.writes.push(attachments);
    return 'written';
  }
}

describe('StatusBatcher', () => {
  it('writes the updates that arrive during a write together in the next one, latest per node', async () => {
    const store = new MemoryStore();
    const b = new StatusBatcher(store);
    store.hold = true;
    const first = b.submit('n', 'a', [entry('a', 's1', 'Attaching')]);
    await new Promise((r) => setImmediate(r));
    const more = [b.submit('n', 'b', [entry('b', 's1', 'Attaching')]), b.submit('n', 'c', [entry('c', 's1')]), b.submit('n', 'b', [entry('b', 's1')])];
    store.hold = false;
    store.held!();
    expect(await Promise.all([first, ...more])).toEqual([true, true, true, true]);
    expect(store.writes).toHaveLength(2);
    expect(store.obj!.status!.attachments).toEqual([entry('a', 's1', 'Attaching'), entry('b', 's1'), entry('c', 's1')]);
    expect(b.counters).toEqual({ writes: 2, updates: 4, conflicts: 0 });
  });

  it('re-reads and merges again when another writer changed the object', async () => {
    const store = new MemoryStore();
    store.obj!.status!.attachments = [entry('x', 's1')];
    store.interfere = 2;
    const b = new StatusBatcher(store);
    expect(await b.submit('n', 'a', [entry('a', 's1')])).toBe(true);
    expect(b.counters.conflicts).toBe(2);
    expect(store.obj!.status!.attachments).toEqual([entry('x', 's1'), entry('a', 's1')]);
  });

  it('gives up after maxAttempts conflicts so the activity retries, and keeps serving later updates', async () => {
    const store = new MemoryStore();
    store.interfere = 3;
    const b = new StatusBatcher(store, { maxAttempts: 3 });
    await expect(b.submit('n', 'a', [entry('a', 's1')])).rejects.toThrow('status changed under 3 attempts in a row');
    expect(await b.submit('n', 'a', [entry('a', 's1')])).toBe(true);
  });

  it('pauses before the next write in proportion to how long the last one took, capped', async () => {
    const store = new MemoryStore();
    let clock = 0;
    const pauses: number[] = [];
    const write = store.writeAttachments.bind(store);
    let took = 100;
    store.writeAttachments = async (...args) => {
      clock += took;
      return write(...args);
    };
    const b = new StatusBatcher(store, { now: () => clock, sleep: async (ms) => void pauses.push(ms), maxPauseMs: 500 });
    store.hold = true;
    const first = b.submit('n', 'a', [entry('a', 's1')]);
    await new Promise((r) => setImmediate(r));
    const second = b.submit('n', 'b', [entry('b', 's1')]);
    store.hold = false;
    store.held!();
    await Promise.all([first, second]);
    expect(pauses).toEqual([200]);
    took = 1000;
    store.hold = true;
    const third = b.submit('n', 'a', [entry('a', 's1', 'Attaching')]);
    await new Promise((r) => setImmediate(r));
    const fourth = b.submit('n', 'b', [entry('b', 's1', 'Attaching')]);
    store.hold = false;
    store.held!();
    await Promise.all([third, fourth]);
    // A write with nothing waiting after it does not pause.
    expect(pauses).toEqual([200, 500]);
  });

  it('answers false when the NodeENI is gone', async () => {
    const store = new MemoryStore();
    store.obj = undefined;
    expect(await new StatusBatcher(store).submit('n', 'a', [])).toBe(false);
  });
});
