import { Mutex } from './mutex.js';

describe('Mutex', () => {
  test('runs critical sections one at a time, in order', async () => {
    const lock = new Mutex();
    const events: string[] = [];
    const section = (name: string, ms: number) =>
      lock.run(async () => {
        events.push(`${name}:start`);
        await new Promise((r) => setTimeout(r, ms));
        events.push(`${name}:end`);
        return name;
      });
    expect(await Promise.all([section('a', 30), section('b', 1), section('c', 10)])).toEqual(['a', 'b', 'c']);
    expect(events).toEqual(['a:start', 'a:end', 'b:start', 'b:end', 'c:start', 'c:end']);
  });

  test('a failing section releases the lock and keeps its error', async () => {
    const lock = new Mutex();
    const failed = lock.run(async () => {
      throw new Error('boom');
    });
    const next = lock.run(async () => 'ran');
    await expect(failed).rejects.toThrow('boom');
    expect(await next).toBe('ran');
  });
});
