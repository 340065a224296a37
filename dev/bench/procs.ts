// CPU time and peak memory of processes, read from /proc (Linux), so each phase can say which process
// did the work: the controller, the watcher, the bench itself, moto, the EC2 proxy, Temporal, the apiserver.
import fs from 'node:fs';
import os from 'node:os';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on every Linux this runs on). */
const CLK_TCK = 100;

export interface ProcSample {
  /** utime + stime, seconds. */
  cpuS: number;
  /** VmHWM: peak resident set, MiB. */
  peakMiB: number;
  alive: boolean;
}

/** A process's CPU times from /proc/<pid>/stat, seconds: its own (utime + stime) and its reaped children's. */
function statTimes(pid: number): { own: number; reaped: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command (which may hold spaces): state is field 3, utime 14, stime 15, cutime 16, cstime 17.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  return { own: (f[11]! + f[12]!) / CLK_TCK, reaped: (f[13]! + f[14]!) / CLK_TCK };
}

/** utime + stime + cutime + cstime of one process, seconds (0 when it is gone). */
function ownAndReapedCpuS(pid: number): number {
  try {
    const t = statTimes(pid);
    return t.own + t.reaped;
  } catch {
    return 0;
  }
}

/** Live children of a process (every thread's list), from /proc. */
function childPids(pid: number): number[] {
  try {
    return fs.readdirSync(`/proc/${pid}/task`).flatMap((t) => {
      const c = fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim();
      return c ? c.split(' ').map(Number) : [];
    });
  } catch {
    return [];
  }
}

/**
 * A process and its children, for servers that fork a process per connection (PostgreSQL): the parent's own and
 * reaped children's time plus each live child's, so a backend's time is counted once, whether it still runs or not.
 */
export function sampleProcTree(pid: number): ProcSample {
  const own = sampleProc(pid);
  if (!own.alive) return own;
  const cpuS = ownAndReapedCpuS(pid) + childPids(pid).reduce((sum, c) => sum + ownAndReapedCpuS(c), 0);
  return { ...own, cpuS };
}

export function sampleProc(pid: number): ProcSample {
  if (pid === process.pid) {
    const u = process.cpuUsage();
    return { cpuS: (u.user + u.system) / 1e6, peakMiB: process.resourceUsage().maxRSS / 1024, alive: true };
  }
  try {
    const cpuS = statTimes(pid).own;
    const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return { cpuS, peakMiB: Number(hwm ?? 0) / 1024, alive: true };
  } catch {
    return { cpuS: 0, peakMiB: 0, alive: false };
  }
}

/** Busy and total CPU seconds of the whole machine (all cores), from /proc/stat. */
export function machineCpu(): { busyS: number; totalS: number } {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busyS: (total - idle) / CLK_TCK, totalS: total / CLK_TCK };
}

export interface PhaseUsage {
  name: string;
  pid: number;
  cpuS: number;
  /** cpuS over the phase's wall time: 1.0 is one core busy the whole phase. */
  cores: number;
  peakMiB: number;
}

/** Watches named processes; `phase()` returns each one's CPU since the previous call and its peak memory. */
export class ProcWatch {
  private last = new Map<string, number>();
  /** Processes counted with their children (see sampleProcTree). */
  private readonly trees = new Set<string>();
  private lastMachine = machineCpu();
  private lastAt = Date.now();

  constructor(private readonly procs: Map<string, number>, trees: readonly string[] = []) {
    for (const t of trees) this.trees.add(t);
    for (const [name, pid] of procs) this.last.set(name, this.sample(name, pid).cpuS);
  }

  private sample(name: string, pid: number): ProcSample {
    return this.trees.has(name) ? sampleProcTree(pid) : sampleProc(pid);
  }

  /** Adds (or replaces, e.g. after a restart) a process, counting from now. */
  set(name: string, pid: number): void {
    this.procs.set(name, pid);
    this.last.set(name, this.sample(name, pid).cpuS);
  }

  phase(): { wallS: number; procs: PhaseUsage[]; machine: { busyCores: number; cores: number } } {
    const now = Date.now();
    const wallS = Math.max((now - this.lastAt) / 1000, 0.001);
    const procs: PhaseUsage[] = [];
    for (const [name, pid] of this.procs) {
      const s = this.sample(name, pid);
      const cpuS = s.alive ? s.cpuS - (this.last.get(name) ?? 0) : 0;
      this.last.set(name, s.cpuS);
      procs.push({ name, pid, cpuS, cores: cpuS / wallS, peakMiB: s.peakMiB });
    }
    const m = machineCpu();
    const machine = { busyCores: (m.busyS - this.lastMachine.busyS) / wallS, cores: os.cpus().length };
    this.lastMachine = m;
    this.lastAt = now;
    return { wallS, procs, machine };
  }
}
