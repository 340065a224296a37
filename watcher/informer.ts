// A @kubernetes/client-node informer made dependable: it restarts after an error (an error stops the stock
// informer for good), it says when its cache holds a complete list, and a periodic relist replaces it with a
// fresh one (a guard against watches that go silent) without ever exposing a half-filled cache.
import { makeInformer, type Informer, type KubeConfig, type KubernetesListObject, type KubernetesObject, type ObjectCache } from '@kubernetes/client-node';

export interface InformerSpec<T extends KubernetesObject> {
  /** For logs. */
  name: string;
  /** Watch path, e.g. /api/v1/nodes. */
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
  labelSelector?: string;
}

type Cached<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30000;

/** One generation of informer; retired when replaced by a relist or stopped. */
class Generation<T extends KubernetesObject> {
  readonly informer: Cached<T>;
  synced = false;
  retired = false;
  private backoffMs = BACKOFF_MIN_MS;
  private retry?: NodeJS.Timeout;
  private readonly syncWaiters: Array<() => void> = [];

  constructor(
    kc: KubeConfig,
    spec: InformerSpec<T>,
    onChange: () => void,
    private readonly log: (msg: string) => void,
  ) {
    const list = async () => {
      const result = await spec.list();
      // The informer fills its cache synchronously right after this promise settles; a macrotask later it is complete.
      setImmediate(() => this.markSynced());
      return result;
    };
    this.informer = makeInformer(kc, spec.path, list, spec.labelSelector);
    const changed = () => {
      if (!this.retired) onChange();
    };
    this.informer.on('add', changed);
    this.informer.on('update', changed);
    this.informer.on('delete', changed);
    this.informer.on('error', (err: unknown) => {
      // Stopping aborts the watch request, which the informer reports as an error: not one to act on.
      if (this.retired) return;
      const delay = this.backoffMs;
      this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
      this.log(`${spec.name} informer error (${describe(err)}); restarting in ${delay} ms`);
      this.retry = setTimeout(() => {
        if (!this.retired) this.informer.start().catch((e: unknown) => this.log(`${spec.name} informer restart failed: ${describe(e)}`));
      }, delay);
    });
  }

  private markSynced(): void {
    if (this.retired) return;
    this.backoffMs = BACKOFF_MIN_MS;
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  start(): void {
    this.informer.start().catch(() => undefined); // errors arrive through the 'error' event
  }

  /** Resolves when the first list is in the cache, or false after timeoutMs / retirement. */
  waitSynced(timeoutMs: number): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(this.synced), timeoutMs);
      this.syncWaiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  async stop(): Promise<void> {
    this.retired = true;
    if (this.retry) clearTimeout(this.retry);
    for (const w of this.syncWaiters.splice(0)) w();
    await this.informer.stop();
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err && typeof err === 'object') {
    const o = err as { code?: unknown; statusCode?: unknown; message?: unknown };
    return String(o.message ?? o.statusCode ?? o.code ?? JSON.stringify(err));
  }
  return String(err);
}

export class ResilientInformer<T extends KubernetesObject> {
  private current?: Generation<T>;
  /** The informer of a relist in progress. */
  private pending?: Generation<T>;
  private stopped = false;
  private relisting?: Promise<void>;

  constructor(
    private readonly kc: KubeConfig,
    private readonly spec: InformerSpec<T>,
    private readonly onChange: () => void,
    private readonly log: (msg: string) => void = (m) => console.log(m),
  ) {}

  /** Starts listing and watching; the cache is usable once `synced`. */
  start(): void {
    if (this.current || this.stopped) return;
    this.current = new Generation(this.kc, this.spec, this.onChange, this.log);
    this.current.start();
  }

  get synced(): boolean {
    return this.current?.synced ?? false;
  }

  waitSynced(timeoutMs: number): Promise<boolean> {
    return this.current ? this.current.waitSynced(timeoutMs) : Promise.resolve(false);
  }

  list(): readonly T[] {
    return this.current?.synced ? this.current.informer.list() : [];
  }

  /**
   * Lists afresh with a new informer and swaps it in once complete; the old cache serves until then. If the new
   * list does not complete in time, the old informer stays (it restarts itself after errors).
   */
  relist(timeoutMs = 60000): Promise<void> {
    this.relisting ??= (async () => {
      if (this.stopped || !this.current) return;
      const next = new Generation(this.kc, this.spec, this.onChange, this.log);
      this.pending = next;
      next.start();
      const ok = await next.waitSynced(timeoutMs);
      this.pending = undefined;
      if (!ok || this.stopped) {
        await next.stop();
        if (!this.stopped) this.log(`${this.spec.name} relist did not complete in ${timeoutMs} ms; keeping the current cache`);
        return;
      }
      const old = this.current;
      this.current = next;
      await old.stop();
      this.onChange();
    })().finally(() => {
      this.relisting = undefined;
    });
    return this.relisting;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([this.current?.stop(), this.pending?.stop()]);
    await this.relisting?.catch(() => undefined);
  }
}
