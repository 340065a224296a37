// The node as the activities see it: links (iproute2), sysfs, the state dir, the device plugin config, and
// the activity context (logs, heartbeats, cancellable sleep) when running inside a Temporal activity.
import { Context } from '@temporalio/activity';
import { IpCommandError, Links } from './links.js';
import { Mutex } from './mutex.js';
import { SriovConfigStore, type DevicePluginRestarter } from './sriov.js';
import { StateStore } from './state.js';
import { Sysfs, type SysfsWriteObserver } from './sysfs.js';
import type { ImdsClient } from './imds.js';
import { deviceRefused } from './errors.js';

export interface NodeAgentOptions {
  nodeName: string;
  /** Root of sysfs (default /sys); a temp tree in tests. */
  sysRoot?: string;
  /** The SR-IOV device plugin's config file (default /etc/pcidp/config.json). */
  pcidpConfigPath?: string;
  /** Where the agent keeps its records (default /var/lib/multi-eni). */
  stateDir?: string;
  /** Run `ip -n <netns>`: the links live in that network namespace. */
  netns?: string;
  /** Verify each link's MAC belongs to the ENI through instance metadata; undefined disables the check. */
  imds?: ImdsClient;
  /** Restarts the device plugin on this node after its config changed. */
  restartDevicePlugin: DevicePluginRestarter;
  /** Told about every sysfs write (tests record them and emulate the kernel). */
  onSysfsWrite?: SysfsWriteObserver;
  /** Link wait when the input does not say (default 60 s). */
  defaultLinkWaitSeconds?: number;
  /** How often to look for a hot-plugged link (default 500 ms). */
  linkPollMs?: number;
  ipPath?: string;
  /** Told each time the agent has listed the node's links (metrics: the last hardware poll). */
  onHardwarePoll?: () => void;
}

export const NODE_AGENT_DEFAULTS = {
  sysRoot: '/sys',
  pcidpConfigPath: '/etc/pcidp/config.json',
  stateDir: '/var/lib/multi-eni',
  linkWaitSeconds: 60,
  linkPollMs: 500,
} as const;

type Attrs = Record<string, unknown>;

function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined; // called outside an activity (a script, the demo)
  }
}

export class AgentHost {
  readonly nodeName: string;
  readonly sysfs: Sysfs;
  readonly links: Links;
  readonly state: StateStore;
  readonly sriov: SriovConfigStore;
  readonly imds: ImdsClient | undefined;
  readonly defaultLinkWaitSeconds: number;
  readonly linkPollMs: number;
  /** Serialises every change to links, drivers and records on this node. */
  readonly lock = new Mutex();

  constructor(opts: NodeAgentOptions) {
    this.nodeName = opts.nodeName;
    this.sysfs = new Sysfs(opts.sysRoot ?? NODE_AGENT_DEFAULTS.sysRoot, opts.onSysfsWrite ? { onWrite: opts.onSysfsWrite } : {});
    this.links = new Links({ ...(opts.netns ? { netns: opts.netns } : {}), ...(opts.ipPath ? { ipPath: opts.ipPath } : {}),
      ...(opts.onHardwarePoll ? { onList: opts.onHardwarePoll } : {}),
    });
    this.state = new StateStore(opts.stateDir ?? NODE_AGENT_DEFAULTS.stateDir);
    // Its own lock: it is called while the host lock is held.
    this.sriov = new SriovConfigStore(opts.pcidpConfigPath ?? NODE_AGENT_DEFAULTS.pcidpConfigPath, this.state, opts.restartDevicePlugin, new Mutex());
    this.imds = opts.imds;
    this.defaultLinkWaitSeconds = opts.defaultLinkWaitSeconds ?? NODE_AGENT_DEFAULTS.linkWaitSeconds;
    this.linkPollMs = opts.linkPollMs ?? NODE_AGENT_DEFAULTS.linkPollMs;
  }

  info(message: string, attrs: Attrs): void {
    const ctx = activityContext();
    const all = { node: this.nodeName, ...attrs };
    if (ctx) ctx.log.info(message, all);
    else console.log(JSON.stringify({ level: 'info', message, ...all }));
  }

  warn(message: string, attrs: Attrs): void {
    const ctx = activityContext();
    const all = { node: this.nodeName, ...attrs };
    if (ctx) ctx.log.warn(message, all);
    else console.warn(JSON.stringify({ level: 'warn', message, ...all }));
  }

  heartbeat(details: Attrs): void {
    activityContext()?.heartbeat(details);
  }

  /** Sleeps; inside an activity the sleep ends early with CancelledFailure when the activity is cancelled. */
  async sleep(ms: number): Promise<void> {
    const ctx = activityContext();
    if (ctx) await ctx.sleep(ms);
    else await new Promise((r) => setTimeout(r, ms));
  }
}

/**
 * Turns a failed `ip` command into the right failure: a link that vanished is worth retrying; anything else
 * (an MTU the device refuses, missing permissions) will fail the same way again.
 */
export function ipFailure(err: unknown, action: string): Error {
  if (!(err instanceof IpCommandError)) return err instanceof Error ? err : new Error(String(err));
  const detail = err.stderr.trim() || `exit code ${String(err.exitCode)}`;
  if (err.linkGone) return new Error(`${action}: the link disappeared (${detail})`);
  return deviceRefused(`${action} refused by the device: ${detail}`);
}
