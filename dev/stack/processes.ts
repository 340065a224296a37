// Starting, waiting for and stopping the stack's processes. Every process is ended by its own PID.
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { promisify } from 'node:util';

export const execFileP = promisify(execFile);

export interface Started {
  name: string;
  pid: number;
  log: string;
}

/** Starts a detached process writing to a log file, so it outlives the command that started it. */
export function startDetached(name: string, cmd: string, args: string[], log: string, env: NodeJS.ProcessEnv = process.env): Started {
  const fd = fs.openSync(log, 'a');
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], env });
  fs.closeSync(fd);
  if (child.pid === undefined) throw new Error(`${name}: could not start ${cmd} (see ${log})`);
  child.unref();
  return { name, pid: child.pid, log };
}

/** Whether the process still runs: a zombie (exited, not yet reaped by its parent) does not. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state …"; comm may hold spaces and parentheses, the state follows the last ')'.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (not Linux): kill(0) is all there is
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `ready` resolves true; fails naming the component and its log if it dies or times out. */
export async function waitReady(p: Started, ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isAlive(p.pid)) throw new Error(`${p.name} exited during start-up; its log is ${p.log}:\n${tail(p.log)}`);
    try {
      if (await ready()) return;
    } catch {
      // not ready yet
    }
    if (Date.now() > deadline) throw new Error(`${p.name} did not become ready in ${timeoutMs / 1000}s; its log is ${p.log}:\n${tail(p.log)}`);
    await sleep(150);
  }
}

export function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** SIGTERM, then SIGKILL after a grace period; resolves when the process is gone. */
export async function stopPid(pid: number, graceMs = 5000): Promise<void> {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(50);
  if (isAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
    while (isAlive(pid)) await sleep(20);
  }
}

export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** True when an HTTPS GET of `url` answers 200 within 2 s (TLS options: a client certificate, a CA, or none checked). */
export async function httpsOk(url: string, tls: import('node:https').RequestOptions): Promise<boolean> {
  const { request } = await import('node:https');
  return new Promise((resolve) => {
    const req = request(url, { ...tls, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

export async function httpOk(url: string, init?: RequestInit): Promise<boolean> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(2000) });
  return res.ok;
}
