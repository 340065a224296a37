import { CachedLoad, InFlight } from './ttl-cache.js';

describe('InFlight', () => {
  it('shares one load among concurrent calls with the same key, and loads again once it settled', async () => {
    const shared = new InFlight<number>();
    let loads = 0;
    let release!: (n: number) => void;
    const load = () => (loads++, new Promise<number>((r) => (release = r)));
    const a = shared.run('i-1', load);
    const b = shared.run('i-1', load);
    const other = shared.run('i-2', () => Promise.resolve(7));
    release(3);
    expect(await Promise.all([a, b, other])).toEqual([3, 3, 7]);
    expect(loads).toBe(1);
    await shared.run('i-1', () => (loads++, Promise.resolve(4)));
    expect(loads).toBe(2);
  });
  it('does not keep a failure: the next call loads again', async () => {
    const shared = new InFlight<number>();
    await expect(shared.run('k', () => Promise.reject(new Error('throttled')))).rejects.toThrow('throttled');
    expect(await shared.run('k', () => Promise.resolve(1))).toBe(1);
  });
});

describe('CachedLoad', () => {
  it('loads a key once until its TTL passes or it is forgotten; a failure is not kept', async () => {
    let now = 0;
    const cache = new CachedLoad<number>(1000, () => now);
    let loads = 0;
    const load = () => (loads++, Promise.resolve(loads));
    expect(await Promise.all([cache.get('k', load), cache.get('k', load)])).toEqual([1, 1]);
    now = 999;
    expect(await cache.get('k', load)).toBe(1);
    now = 1000;
    expect(await cache.get('k', load)).toBe(2);
    cache.forget('k');
    expect(await cache.get('k', load)).toBe(3);
    await expect(cache.get('f', () => Promise.reject(new Error('throttled')))).rejects.toThrow('throttled');
    expect(await cache.get('f', load)).toBe(4);
  });
});
