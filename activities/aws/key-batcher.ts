// Many callers asking the same kind of question with different keys (the ENIs of this node, of that instance)
// get one answer: requests that arrive within a short window go out as one call whose filter lists every key
// (EC2 filters take many values), and each caller receives its key's part. A fleet converging at once then
// costs a handful of describes instead of one per pair.

interface Waiter<V> {
  resolve: (v: V) => void;
  reject: (err: unknown) => void;
}

export interface KeyBatcherOptions {
  /** How long the first request of a batch waits for others (ms). */
  delayMs: number;
  /** Most keys in one call (EC2 accepts up to 200 values per filter). */
  maxKeys: number;
}

export class KeyBatcher<V> {
  private queue = new Map<string, Waiter<V>[]>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  /** `fetch` answers a batch of keys; a key it leaves out gets `empty`. */
  constructor(
    private readonly fetch: (keys: string[]) => Promise<Map<string, V>>,
    private readonly empty: () => V,
    private readonly o: KeyBatcherOptions,
  ) {}

  get(key: string): Promise<V> {
    return new Promise<V>((resolve, reject) => {
      const waiters = this.queue.get(key) ?? [];
      waiters.push({ resolve, reject });
      this.queue.set(key, waiters);
      if (this.queue.size >= this.o.maxKeys) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.o.delayMs);
    });
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.queue;
    this.queue = new Map();
    if (batch.size === 0) return;
    this.fetch([...batch.keys()]).then(
      (answers) => {
        for (const [key, waiters] of batch) for (const w of waiters) w.resolve(answers.get(key) ?? this.empty());
      },
      (err: unknown) => {
        for (const waiters of batch.values()) for (const w of waiters) w.reject(err);
      },
    );
  }
}

/** Groups items by a key, with an entry (maybe empty) for every key asked for. */
export function groupByKey<T>(keys: readonly string[], items: readonly T[], keyOf: (t: T) => string | undefined): Map<string, T[]> {
  const out = new Map<string, T[]>(keys.map((k) => [k, []]));
  for (const t of items) {
    const k = keyOf(t);
    if (k !== undefined) out.get(k)?.push(t);
  }
  return out;
}
