// A network namespace of the test's own, with veth links carrying chosen MACs (this kernel has no dummy
// driver; veth behaves the same for MAC, MTU and up/down, and refuses MTUs past its limits).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout)));
  });
}

export interface NsLink {
  ifname: string;
  address: string;
  mtu: number;
  flags: string[];
}

export class TestNetns {
  readonly name: string;

  /** A new name from `prefix`, or `{ name }` for a namespace that may exist already (a node restarting). */
  constructor(prefix: string | { name: string } = 'mneni-test') {
    this.name = typeof prefix === 'string' ? `${prefix}-${randomBytes(4).toString('hex')}` : prefix.name;
  }

  async create(): Promise<void> {
    await run('ip', ['netns', 'add', this.name]);
  }

  /** Creates the namespace unless it exists (`ip netns add` keeps its handle under /run/netns). */
  async ensure(): Promise<void> {
    if (!fs.existsSync(path.join('/run/netns', this.name))) await this.create();
  }

  async destroy(): Promise<void> {
    await run('ip', ['netns', 'del', this.name]).catch(() => undefined);
  }

  ip(args: string[]): Promise<string> {
    return run('ip', ['-n', this.name, ...args]);
  }

  /**
   * A veth link named `ifname` with `mac`, down, MTU 1500; its peer gets a generated name and MAC and is up, so
   * `ifname` has carrier the moment it is brought up (state UP, as a hot-plugged ENI's link; a veth whose peer is
   * down shows LOWERLAYERDOWN instead).
   */
  async addLink(ifname: string, mac: string, peer = `p${randomBytes(3).toString('hex')}`): Promise<void> {
    await this.ip(['link', 'add', ifname, 'address', mac, 'type', 'veth', 'peer', 'name', peer]);
    await this.ip(['link', 'set', peer, 'up']);
  }

  async delLink(ifname: string): Promise<void> {
    await this.ip(['link', 'del', ifname]);
  }

  async link(ifname: string): Promise<NsLink | undefined> {
    const out = await this.ip(['-j', 'link', 'show']);
    return (JSON.parse(out) as NsLink[]).find((l) => l.ifname === ifname);
  }

  async links(): Promise<NsLink[]> {
    return JSON.parse(await this.ip(['-j', 'link', 'show'])) as NsLink[];
  }
}

export const isUp = (l: NsLink | undefined): boolean => !!l && l.flags.includes('UP');

/** An `ip` wrapper that logs every invocation, so tests can assert which commands the agent ran. */
export function loggingIp(dir: string): { path: string; calls: () => string[] } {
  const log = path.join(dir, 'ip-calls.log');
  const script = path.join(dir, 'ip-logged');
  fs.writeFileSync(script, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec ip "$@"\n`, { mode: 0o755 });
  return {
    path: script,
    calls: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter((l) => l !== '') : []),
  };
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
