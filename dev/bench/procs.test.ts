// The bench's CPU accounting: a server that forks a process per connection (PostgreSQL) is counted with its children.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { sampleProc, sampleProcTree } from './procs.js';

async function until(what: string, cond: () => boolean, timeoutMs = 20000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const children = (pid: number) => fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ').filter(Boolean).map(Number);

test("a parent that only waits is charged its busy child's CPU, and keeps it once the child is reaped", async () => {
  // The parent shell forks a busy child and waits for it; once the child is gone it stays up (exec keeps its counters).
  const sh = spawn('sh', ['-c', 'sh -c "while :; do :; done" & wait; exec sleep 60'], { stdio: 'ignore' });
  const pid = sh.pid!;
  try {
    await until('the child to burn 0.3 s of CPU', () => sampleProcTree(pid).cpuS >= 0.3);
    expect(sampleProc(pid).cpuS).toBeLessThan(0.1);
    const [child] = children(pid);
    const before = sampleProcTree(pid).cpuS;
    process.kill(child!, 'SIGKILL');
    await until('the child to be reaped', () => !children(pid).includes(child!) && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep'));
    expect(sampleProcTree(pid).cpuS).toBeGreaterThanOrEqual(before);
    expect(sampleProc(pid).cpuS).toBeLessThan(0.1);
  } finally {
    sh.kill('SIGKILL');
  }
});
