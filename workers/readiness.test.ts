import { Readiness, backoffMs, isNamespaceNotFound, retryUntilReady } from './readiness.js';

describe('Readiness', () => {
  it('names every part that is not ready, and nothing once all are', () => {
    const r = new Readiness();
    let synced = false;
    r.check('watcher', () => (synced ? undefined : 'NodeENI and Node caches not loaded yet'));
    r.set('temporal', 'connect ECONNREFUSED 10.0.0.1:7233');
    expect(r.reasons()).toEqual(['temporal: connect ECONNREFUSED 10.0.0.1:7233', 'watcher: NodeENI and Node caches not loaded yet']);
    synced = true;
    r.set('temporal', undefined);
    expect(r.reasons()).toEqual([]);
  });
});

describe('retryUntilReady', () => {
  it('backs off 1, 2, 4 … 30 s, reporting each failure, until it succeeds', async () => {
    expect([0, 1, 2, 3, 4, 5, 6, 10].map((n) => backoffMs(n))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    const slept: number[] = [];
    const seen: string[] = [];
    let tries = 0;
    const v = await retryUntilReady(
      async () => {
        if (++tries < 4) throw new Error(`down ${tries}`);
        return 'up';
      },
      { onWait: (why, n, ms) => seen.push(`${n} ${why} ${ms}`), sleep: async (ms) => void slept.push(ms) },
    );
    expect(v).toBe('up');
    expect(seen).toEqual(['1 down 1 1000', '2 down 2 2000', '3 down 3 4000']);
    expect(slept).toEqual([1000, 2000, 4000]);
  });

  it('stops when aborted (shutdown while waiting)', async () => {
    const ac = new AbortController();
    const p = retryUntilReady(
      async () => {
        throw new Error('down');
      },
      { onWait: () => ac.abort(), sleep: async () => undefined, signal: ac.signal },
    );
    await expect(p).rejects.toThrow(/aborted/);
  });

  it('waits out only what retryIf names; anything else is thrown at the first try', async () => {
    let tries = 0;
    const p = retryUntilReady(
      async () => {
        tries++;
        throw new Error(tries === 1 ? 'Namespace default is not found.' : 'PERMISSION_DENIED');
      },
      { onWait: () => undefined, sleep: async () => undefined, retryIf: isNamespaceNotFound },
    );
    await expect(p).rejects.toThrow('PERMISSION_DENIED');
    expect(tries).toBe(2);
  });
});

describe('isNamespaceNotFound: the answers of a Temporal service that does not know the namespace yet', () => {
  it.each([
    ['the TypeScript client', Object.assign(new Error("Namespace not found: 'default'"), { name: 'NamespaceNotFoundError' }), true],
    ['a worker (core)', new Error('Namespace default was not found or otherwise could not be described: Status { code: NotFound, message: "Namespace default is not found." }'), true],
    ['the operator service', new Error('5 NOT_FOUND: Namespace default is not found.'), true],
    ['another NOT_FOUND', new Error('5 NOT_FOUND: workflow execution not found'), false],
    ['no error', 'Namespace default is not found.', false],
  ])('%s', (_what, err, expected) => {
    expect(isNamespaceNotFound(err)).toBe(expected);
  });
});
