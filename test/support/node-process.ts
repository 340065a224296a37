// A simulated node whose agent runs as a process of its own (dev/stack/sim/node-process.ts), so a test can
// kill -9 it and start it again over the same node dir and network namespace. Its stdout lines (hot-plug,
// the sysfs writes the kernel emulation took, holds) are kept across runs, numbered by run.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../dev/stack/paths.js';
import { TestNetns, type NsLink } from '../../dev/stack/sim/netns.js';
import { eventually, stack } from './env.js';

export interface Holds {
  /** A sysfs path (relative to the sysfs root) whose write never returns. */
  sysfsWrite?: string;
  /** `ip` arguments (after `-n <netns>`) of a command that never returns. */
  ip?: string;
}

export interface OutLine {
  run: number;
  line: string;
}

export class NodeProcess {
  readonly dir: string;
  readonly netns: TestNetns;
  readonly log: string;
  readonly out: OutLine[] = [];
  private child?: ChildProcess;
  private runs = 0;
  private runHolds: Holds = {};

  constructor(
    readonly name: string,
    readonly instanceId: string,
  ) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `mneni-nodeproc-${name.slice(0, 20)}-`));
    this.netns = new TestNetns({ name: `mneni-np-${randomBytes(4).toString('hex')}` });
    this.log = path.join(stack().dir, 'logs', `node-${name}.log`);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Whether the current run was started with a hold (it may be stuck there). */
  get holding(): boolean {
    return !!(this.runHolds.sysfsWrite ?? this.runHolds.ip);
  }

  /** The current run (1 for the first start). */
  get run(): number {
    return this.runs;
  }

  /** Starts the node process and waits until its agent's worker runs. */
  async start(holds: Holds = {}): Promise<void> {
    if (this.child) throw new Error(`node process ${this.name} is running already`);
    const s = stack();
    const args = [
      path.join(REPO_ROOT, 'dist', 'dev', 'stack', 'sim', 'node-process.js'),
      ...['--name', this.name, '--instance-id', this.instanceId, '--dir', this.dir, '--netns', this.netns.name],
      ...['--temporal-address', s.temporal.address, '--temporal-namespace', s.temporal.namespace],
      ...['--ec2-endpoint', s.ec2.motoEndpoint, '--region', s.ec2.region],
      ...(holds.sysfsWrite ? ['--hold-sysfs-write', holds.sysfsWrite] : []),
      ...(holds.ip ? ['--hold-ip', holds.ip] : []),
    ];
    const run = ++this.runs;
    this.runHolds = holds;
    const logFd = fs.openSync(this.log, 'a');
    fs.writeSync(logFd, `--- run ${run}: ${JSON.stringify(holds)}\n`);
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', logFd] });
    fs.closeSync(logFd);
    this.child = child;
    let partial = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        this.out.push({ run, line });
        fs.appendFileSync(this.log, `${line}\n`);
      }
    });
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
    });
    await this.waitLine(/^ready /, 60000, run).catch((e: Error) => {
      throw new Error(`${e.message}\n${this.tail()}`);
    });
  }

  /** The first line of `run` (default: the current one) matching `re`. */
  waitLine(re: RegExp, timeoutMs = 60000, run = this.runs): Promise<string> {
    return eventually(
      `node process ${this.name} (run ${run}) to print ${re}`,
      async () => this.out.find((o) => o.run === run && re.test(o.line))?.line ?? false,
      timeoutMs,
      50,
    );
  }

  /** Lines of every run so far (or of one run) matching `re`. */
  lines(re: RegExp, run?: number): string[] {
    return this.out.filter((o) => (run === undefined || o.run === run) && re.test(o.line)).map((o) => o.line);
  }

  /** kill -9: no shutdown code runs; the node dir and namespace stay as the process left them. */
  async kill9(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
    this.child = undefined;
  }

  /** A graceful stop (SIGTERM), kill -9 when that does not end it within 15 s. */
  async stop(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 15000);
    await exited;
    clearTimeout(timer);
    this.child = undefined;
  }

  /** The node's links carrying ENIs (eth<device index>); the simulation's veth peers are left out. */
  async links(): Promise<NsLink[]> {
    return (await this.netns.links()).filter((l) => /^eth\d+$/.test(l.ifname));
  }

  /** The driver a PCI device is bound to, as sysfs shows it (undefined: no driver, or no such device). */
  driverOf(pci: string): string | undefined {
    try {
      return path.basename(fs.readlinkSync(path.join(this.dir, 'sys', 'bus', 'pci', 'devices', pci, 'driver')));
    } catch {
      return undefined;
    }
  }

  /** The SR-IOV device plugin config the agent wrote, if any. */
  pcidpConfig(): unknown {
    try {
      return JSON.parse(fs.readFileSync(path.join(this.dir, 'etc', 'pcidp', 'config.json'), 'utf8'));
    } catch {
      return undefined;
    }
  }

  tail(lines = 30): string {
    try {
      return fs.readFileSync(this.log, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** Ends the process (kill -9: it may be held) and removes the node: namespace and dir. */
  async destroy(): Promise<void> {
    await this.kill9();
    await this.netns.destroy();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
