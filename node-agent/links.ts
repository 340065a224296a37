// Link operations through iproute2, run with execFile (no shell), optionally inside a network namespace
// (`ip -n <ns>`), which is how the tests drive real interfaces.
import { execFile } from 'node:child_process';
import { parseIpLinkJson, selectLinkByMac, type LinkInfo, type LinkSelection } from './ip-link.js';

export class IpCommandError extends Error {
  constructor(
    readonly args: string[],
    readonly stderr: string,
    readonly exitCode: number | string | undefined,
  ) {
    super(`ip ${args.join(' ')} failed: ${stderr.trim() || `exit code ${String(exitCode)}`}`);
    this.name = 'IpCommandError';
  }

  /** The link vanished between lookup and change (hot-unplug, rename): worth another attempt. */
  get linkGone(): boolean {
    return /Cannot find device|does not exist|No such device/i.test(this.stderr);
  }
}

export interface LinksOptions {
  netns?: string;
  /** Path of the ip binary (default: `ip` from PATH). */
  ipPath?: string;
  timeoutMs?: number;
  /** Told after each successful listing of the links (the agent's look at the hardware; a metric). */
  onList?: () => void;
}

export class Links {
  private readonly prefix: string[];
  private readonly ipPath: string;
  private readonly timeoutMs: number;
  private readonly onList: (() => void) | undefined;

  constructor(opts: LinksOptions = {}) {
    this.onList = opts.onList;
    this.prefix = opts.netns ? ['-n', opts.netns] : [];
    this.ipPath = opts.ipPath ?? 'ip';
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  private run(args: string[]): Promise<string> {
    const full = [...this.prefix, ...args];
    return new Promise((resolve, reject) => {
      execFile(this.ipPath, full, { timeout: this.timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') reject(new Error(`cannot run ${this.ipPath}: not found (iproute2 is required on the node)`));
          else reject(new IpCommandError(full, String(stderr), typeof code === 'number' || typeof code === 'string' ? code : undefined));
          return;
        }
        resolve(String(stdout));
      });
    });
  }

  async list(): Promise<LinkInfo[]> {
    const links = parseIpLinkJson(await this.run(['-j', '-d', 'link', 'show']));
    this.onList?.();
    return links;
  }

  async findByMac(mac: string): Promise<LinkSelection> {
    return selectLinkByMac(await this.list(), mac);
  }

  async get(name: string): Promise<LinkInfo | undefined> {
    return (await this.list()).find((l) => l.name === name);
  }

  async setMtu(name: string, mtu: number): Promise<void> {
    await this.run(['link', 'set', 'dev', name, 'mtu', String(mtu)]);
  }

  async setUp(name: string): Promise<void> {
    await this.run(['link', 'set', 'dev', name, 'up']);
  }

  async setDown(name: string): Promise<void> {
    await this.run(['link', 'set', 'dev', name, 'down']);
  }
}
