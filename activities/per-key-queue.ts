// Tasks with the same key run one after another; others run freely. The EC2 activities queue attaches per
// instance, so the pairs converging on one node take its free device indexes in turn instead of racing for one.

/** Runs tasks with the same key one after another (others run freely); nothing is kept once a key is idle. */
export class PerKeyQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve();
    const result = before.then(task);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
