// A promise-chain lock. One agent runs per node, so serialising its own host changes in-process is enough
// to keep concurrent activities from interleaving read-modify-write cycles (sysfs, config.json).
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
