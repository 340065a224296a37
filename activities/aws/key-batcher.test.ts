import { groupByKey, KeyBatcher } from './key-batcher.js';

describe('KeyBatcher', () => {
  it('answers requests of one window with one fetch of every key, each caller its own part', async () => {
    const fetched: string[][] = [];
    const b = new KeyBatcher<string[]>(
      async (keys) => (fetched.push(keys), groupByKey(keys, ['n1:eni-1', 'n2:eni-2', 'n1:eni-3'], (x) => x.split(':')[0])),
      () => [],
      { delayMs: 5, maxKeys: 100 },
    );
    const [a, again, c, none] = await Promise.all([b.get('n1'), b.get('n1'), b.get('n2'), b.get('n3')]);
    expect(fetched).toEqual([['n1', 'n2', 'n3']]);
    expect(a).toEqual(['n1:eni-1', 'n1:eni-3']);
    expect(again).toEqual(a);
    expect(c).toEqual(['n2:eni-2']);
    expect(none).toEqual([]);
  });
  it('sends a full batch at once and fails only the callers of a failed fetch', async () => {
    const fetched: string[][] = [];
    const b = new KeyBatcher<number>(
      async (keys) => {
        fetched.push(keys);
        if (keys.includes('bad')) throw new Error('RequestLimitExceeded');
        return new Map(keys.map((k) => [k, k.length]));
      },
      () => 0,
      { delayMs: 60_000, maxKeys: 2 },
    );
    const first = Promise.all([b.get('ab'), b.get('abc')]);
    expect(await first).toEqual([2, 3]);
    const failed = Promise.allSettled([b.get('bad'), b.get('x')]);
    expect((await failed).map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(fetched).toEqual([['ab', 'abc'], ['bad', 'x']]);
  });
});
