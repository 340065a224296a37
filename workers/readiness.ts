// What /readyz answers: each part of the process that can be not ready says why, in words an operator reads with
// `kubectl describe pod` (a failed probe shows the body). /healthz only says the process is alive: waiting for
// Temporal is not a reason to be restarted.

/** A named check: undefined when fine, else why not. */
export type ReadinessCheck = () => string | undefined;

export class Readiness {
  private readonly checks = new Map<string, ReadinessCheck>();
  private readonly states = new Map<string, string>();

  /** A part that is polled when asked. */
  check(name: string, fn: ReadinessCheck): void {
    this.checks.set(name, fn);
  }

  /** A part that reports itself: `why` while not ready, undefined once it is. */
  set(name: string, why: string | undefined): void {
    if (why === undefined) this.states.delete(name);
    else this.states.set(name, why);
  }

  /** Every reason the process is not ready, `name: why` each, in a stable order. */
  reasons(): string[] {
    const out = [...this.states].map(([n, why]) => `${n}: ${why}`);
    for (const [n, fn] of this.checks) {
      const why = fn();
      if (why !== undefined) out.push(`${n}: ${why}`);
    }
    return out.sort();
  }
}

/** Exponential backoff with a cap: 1 s, 2 s, 4 s … 30 s. */
export function backoffMs(attempt: number, firstMs = 1000, maxMs = 30_000): number {
  return Math.min(maxMs, firstMs * 2 ** Math.max(0, attempt));
}

export interface WaitOptions {
  /** Told of each failed try, with the delay before the next. */
  onWait: (why: string, attempt: number, delayMs: number) => void;
  sleep?: (ms: number) => Promise<void>;
  /** Stops the wait (shutdown): the promise rejects. */
  signal?: AbortSignal;
  /** Which failures are waited out (default: all); any other is thrown at once. */
  retryIf?: (err: unknown) => boolean;
}

/**
 * A namespace Temporal does not know (yet). Right after the namespace is created (the Temporal chart's namespace Job
 * runs beside the pods that use it) each Temporal service learns of it on its own namespace-cache refresh, so one
 * service can find it while another still answers NOT_FOUND.
 */
export function isNamespaceNotFound(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return err.name === 'NamespaceNotFoundError' || /namespace \S+ (is|was) not found|namespace not found/i.test(err.message);
}

/** Tries `attempt` until it succeeds, backing off; each failure's message is reported. Never gives up on its own. */
export async function retryUntilReady<T>(attempt: () => Promise<T>, o: WaitOptions): Promise<T> {
  const sleep =
    o.sleep ??
    ((ms: number) =>
      new Promise<void>((r) => {
        const t = setTimeout(r, ms);
        o.signal?.addEventListener('abort', () => (clearTimeout(t), r()), { once: true });
      }));
  for (let n = 0; ; n++) {
    o.signal?.throwIfAborted();
    try {
      return await attempt();
    } catch (err) {
      if (o.retryIf && !o.retryIf(err)) throw err;
      const delay = backoffMs(n);
      o.onWait(err instanceof Error ? err.message : String(err), n + 1, delay);
      await sleep(delay);
    }
  }
}
