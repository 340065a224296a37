import { spawn } from 'node:child_process';
import { isAlive } from './processes.js';

it('a zombie (exited, its parent never reaps it) is not alive, though kill(pid, 0) still succeeds', async () => {
  // A short `sleep` runs in the background of a shell that then becomes `sleep 30`, which never waits for it. The
  // child outlives the exec (an instant `true` could exit while the shell still runs and be reaped by it).
  const parent = spawn('sh', ['-c', 'sleep 0.3 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const zombie = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()))));
    // Wait (bounded) until the child has exited: its /proc state turns to Z.
    for (let i = 0; i < 200 && isAlive(zombie); i++) await new Promise((r) => setTimeout(r, 10));
    expect(() => process.kill(zombie, 0)).not.toThrow();
    expect(isAlive(zombie)).toBe(false);
    expect(isAlive(parent.pid!)).toBe(true);
  } finally {
    parent.kill('SIGKILL');
  }
});
