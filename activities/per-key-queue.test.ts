import { PerKeyQueue } from './per-key-queue.js';

it('runs tasks of one key one at a time, in order, past a failure; other keys are not held up', async () => {
  const q = new PerKeyQueue();
  const log: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const a1 = q.run('i-1', async () => {
    log.push('a1 start');
    await gate;
    log.push('a1 end');
    throw new Error('a1 failed');
  });
  const a2 = q.run('i-1', async () => {
    log.push('a2');
    return 2;
  });
  const b = await q.run('i-2', async () => {
    log.push('b');
    return 'b';
  });
  expect(b).toBe('b');
  expect(log).toEqual(['a1 start', 'b']);
  release();
  await expect(a1).rejects.toThrow('a1 failed');
  expect(await a2).toBe(2);
  expect(log).toEqual(['a1 start', 'b', 'a1 end', 'a2']);
});
