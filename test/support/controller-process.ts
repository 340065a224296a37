// Runs the controller as a real process (as a Deployment would), so tests can stop it gracefully or kill -9 it.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../dev/stack/paths.js';
import { stackEnv } from '../../dev/stack/stack.js';
import { stack } from './env.js';

export class ControllerProcess {
  private child?: ChildProcess;
  readonly log: string;

  constructor(
    readonly name: string,
    private readonly env: Record<string, string>,
  ) {
    this.log = path.join(stack().dir, 'logs', `controller-${name}.log`);
  }

  /** Starts the controller of this checkout, or of another build (`distDir`, e.g. the previous release's). */
  start(extra: Record<string, string> = {}, distDir = path.join(REPO_ROOT, 'dist')): void {
    const fd = fs.openSync(this.log, 'a');
    this.child = spawn(process.execPath, [path.join(distDir, 'workers', 'controller.js')], {
      env: { ...process.env, ...stackEnv(stack()), METRICS_PORT: '0', LEADER_ELECTION: 'false', POLL_MS: '300', ...this.env, ...extra },
      stdio: ['ignore', fd, fd],
    });
    fs.closeSync(fd);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** kill -9: no shutdown code runs, as in a node crash. */
  async kill9(): Promise<void> {
    await this.signal('SIGKILL');
  }

  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill(sig);
    const timer = setTimeout(() => c.kill('SIGKILL'), 15000);
    await exited;
    clearTimeout(timer);
    this.child = undefined;
  }

  tail(lines = 40): string {
    try {
      return fs.readFileSync(this.log, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }
}
