// A small time-bounded cache for lookups that rarely change (subnets, security groups).
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();
  constructor(
    private readonly ttlMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expires <= this.clock()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  set(key: string, value: V): void {
    this.entries.set(key, { value, expires: this.clock() + this.ttlMs });
  }
}

/**
 * Concurrent calls with the same key share one promise (nothing is kept once it settles): when a fleet's pairs
 * converge at once, one lookup answers all of them instead of each missing the cache together.
 */
export class InFlight<V> {
  private readonly pending = new Map<string, Promise<V>>();

  run(key: string, load: () => Promise<V>): Promise<V> {
    let p = this.pending.get(key);
    if (!p) {
      p = load().finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    return p;
  }
}

/** A TtlCache filled on a miss by the caller's load; concurrent misses of one key share one load (InFlight). */
export class CachedLoad<V> {
  private readonly cache: TtlCache<V>;
  private readonly inFlight = new InFlight<V>();

  constructor(ttlMs: number, clock: () => number = Date.now) {
    this.cache = new TtlCache(ttlMs, clock);
  }

  async get(key: string, load: () => Promise<V>): Promise<V> {
    return (
      this.cache.get(key) ??
      this.inFlight.run(key, async () => {
        const value = await load();
        this.cache.set(key, value);
        return value;
      })
    );
  }

  /** Drops the key's value: the next get loads afresh. */
  forget(key: string): void {
    this.cache.delete(key);
  }
}
