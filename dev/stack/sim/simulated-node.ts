// A simulated node for the local stack: what EC2 and the kernel do on a real instance, played on this
// machine. When EC2 (the emulator) shows an ENI attached to the node's instance, a device with the ENI's
// MAC is hot-plugged into the node's own network namespace and sysfs tree; when it is detached, it goes.
// The real node agent runs against that namespace and tree, on the node's own task queue.
//
// What the kernel keeps when only the agent dies (the sysfs tree, the links in the namespace, the agent's state
// dir, the device plugin config) lives in the node dir and the namespace; the emulation's own memory (the
// devices it plugged, per attachment) is kept next to them in sim.json. A node started again over the same dir
// and namespace (dev/stack/sim/node-process.ts after a kill -9) carries on from there.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DescribeNetworkInterfacesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createNodeAgentActivities } from '../../../node-agent/activities.js';
import { nodeTaskQueue } from '../../../common/names.js';
import type { NodeAgentActivities } from '../../../common/node-agent-contract.js';
import type { SysfsWriteObserver } from '../../../node-agent/sysfs.js';
import { FakeKernel, type FakeDevice } from './fake-kernel.js';
import { isUp, TestNetns, type NsLink } from './netns.js';

export interface SimulatedNodeOptions {
  name: string;
  instanceId: string;
  /** EC2 client straight to the emulator: the hardware's view, not the controller's calls. */
  ec2: EC2Client;
  temporal: { address: string; namespace: string };
  /** Run the node agent for this node (default true). */
  agent?: boolean;
  /** How often the "hardware" looks at EC2 (default 300 ms). */
  hotplugMs?: number;
  /** Shared Temporal connection, for many nodes in one process. */
  connection?: NativeConnection;
  /** The node dir (default: a new temp dir); a dir a node ran in before is taken over with its state. */
  dir?: string;
  /** The node's network namespace (default: a new one); created when it does not exist. */
  netns?: string;
  /** The `ip` the agent runs (default `ip` from PATH). */
  ipPath?: string;
  /** Stands between the agent's sysfs writes and the kernel's reaction (`react`): to log or hold them. */
  sysfsWrite?: (rel: string, value: string, react: SysfsWriteObserver) => Promise<void>;
  /** Told of each hot-plug and hot-unplug, one line each (what the hardware did, for a log). */
  log?: (line: string) => void;
}

/** What the emulation remembers across a restart of its process (the kernel's side of the node). */
interface SimState {
  devices: FakeDevice[];
  /** Attachment id → PCI address of the device plugged for it. */
  plugged: Record<string, string>;
}

const KERNEL_DRIVER = 'ena';
const DRIVERS = [KERNEL_DRIVER, 'vfio-pci', 'igb_uio', 'uio_pci_generic'];

/**
 * PCI slot of the ENI at a device index. The seeds' telco manifests pair device index 3 with 0000:00:07.0
 * and 4 with 0000:00:08.0; the simulation lays slots out the same way so those manifests apply unchanged.
 */
export function pciForDeviceIndex(deviceIndex: number): string {
  return `0000:00:${(4 + deviceIndex).toString(16).padStart(2, '0')}.0`;
}

export class SimulatedNode {
  readonly dir: string;
  readonly sysRoot: string;
  readonly pcidpConfigPath: string;
  readonly netns: TestNetns;
  readonly kernel: FakeKernel;
  devicePluginRestarts = 0;
  private readonly plugged = new Map<string, FakeDevice>(); // attachment id → device
  private timer?: NodeJS.Timeout;
  private polling?: Promise<void>;
  private worker?: Worker;
  private workerRun?: Promise<void>;
  private ownConnection?: NativeConnection;
  private stopped = false;
  private syncing: Promise<void> = Promise.resolve();

  private constructor(readonly opts: SimulatedNodeOptions) {
    if (opts.dir) fs.mkdirSync(opts.dir, { recursive: true });
    this.dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), `mneni-node-${opts.name.slice(0, 20)}-`));
    this.sysRoot = path.join(this.dir, 'sys');
    this.pcidpConfigPath = path.join(this.dir, 'etc', 'pcidp', 'config.json');
    this.netns = opts.netns ? new TestNetns({ name: opts.netns }) : new TestNetns('mneni-node');
    const saved = this.load();
    this.kernel = new FakeKernel(this.sysRoot, this.netns, saved.devices, DRIVERS);
    for (const [attachmentId, pci] of Object.entries(saved.plugged)) {
      const dev = saved.devices.find((d) => d.pci === pci);
      if (dev) this.plugged.set(attachmentId, dev);
    }
  }

  static async start(opts: SimulatedNodeOptions): Promise<SimulatedNode> {
    const node = new SimulatedNode(opts);
    await node.netns.ensure();
    try {
      await node.sync();
      node.schedule();
      if (opts.agent !== false) await node.startAgent();
    } catch (err) {
      await node.stop();
      throw err;
    }
    return node;
  }

  get name(): string {
    return this.opts.name;
  }

  private get stateFile(): string {
    return path.join(this.dir, 'sim.json');
  }

  private load(): SimState {
    try {
      return JSON.parse(fs.readFileSync(this.stateFile, 'utf8')) as SimState;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { devices: [], plugged: {} };
      throw err;
    }
  }

  /**
   * Written after each plug and unplug, atomically (a kill -9 leaves the old file or the new one). A kill in the
   * middle of a plug itself (between the link and this write) is not covered: the crash tests kill the process
   * while the agent is held, when the hardware poll has nothing in flight.
   */
  private save(): void {
    const state: SimState = { devices: this.kernel.devices, plugged: Object.fromEntries([...this.plugged].map(([a, d]) => [a, d.pci])) };
    fs.writeFileSync(`${this.stateFile}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
    fs.renameSync(`${this.stateFile}.tmp`, this.stateFile);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.polling = this.sync()
        .catch(() => undefined) // the emulator restarting is not the node's problem
        .finally(() => this.schedule());
    }, this.opts.hotplugMs ?? 300);
  }

  /**
   * Makes the devices match the ENIs EC2 has attached to this instance. One look at a time: the poll and the
   * agent's own look (below) never interleave their plugs.
   */
  sync(): Promise<void> {
    const next = this.syncing.then(() => this.syncOnce());
    this.syncing = next.catch(() => undefined);
    return next;
  }

  private async syncOnce(): Promise<void> {
    const r = await this.opts.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [this.opts.instanceId] }] }));
    // Keyed by attachment, not by ENI: an ENI detached and attached again (at another index, say) is a new
    // device to the kernel, even when the detach fell between two looks at EC2.
    const attached = new Map<string, { mac: string; index: number }>();
    for (const n of r.NetworkInterfaces ?? []) {
      const idx = n.Attachment?.DeviceIndex;
      const attachmentId = n.Attachment?.AttachmentId;
      // Device index 0 is the primary interface, which belongs to the host, not to this simulation.
      if (!attachmentId || !n.MacAddress || idx === undefined || idx === 0) continue;
      if (n.Attachment?.Status === 'detached') continue;
      attached.set(attachmentId, { mac: n.MacAddress, index: idx });
    }
    for (const [attachmentId, dev] of [...this.plugged]) {
      if (!attached.has(attachmentId)) {
        if (this.opts.log) {
          // What the device was left as when its ENI went: the driver holding it and its link's state.
          const link = await this.netns.link(dev.ifname);
          this.opts.log(`unplugged ${dev.pci} ${dev.mac} driver ${this.kernel.driverOf(dev.pci) ?? 'none'} link ${link ? (isUp(link) ? 'up' : 'down') : 'none'}`);
        }
        await this.kernel.unplug(dev.pci);
        this.plugged.delete(attachmentId);
        this.save();
      }
    }
    for (const [attachmentId, a] of attached) {
      if (this.plugged.has(attachmentId)) continue;
      const dev: FakeDevice = { pci: pciForDeviceIndex(a.index), mac: a.mac, ifname: `eth${a.index}`, kernelDriver: KERNEL_DRIVER };
      if (this.kernel.devices.some((d) => d.pci === dev.pci)) continue; // slot still held by a device going away
      await this.kernel.plug(dev);
      this.plugged.set(attachmentId, dev);
      this.save();
      this.opts.log?.(`plugged ${dev.pci} ${dev.mac} ${dev.ifname}`);
    }
  }

  private async startAgent(): Promise<void> {
    const connection = this.opts.connection ?? (this.ownConnection = await NativeConnection.connect({ address: this.opts.temporal.address }));
    const intercept = this.opts.sysfsWrite;
    this.worker = await Worker.create({
      connection,
      namespace: this.opts.temporal.namespace,
      taskQueue: nodeTaskQueue(this.opts.name),
      // On an instance the kernel sees an attach or detach before EC2 reports it done; the poll above lags
      // by up to hotplugMs, so the hardware is brought up to date before the agent looks at it.
      activities: this.upToDateBeforeEachCall(createNodeAgentActivities({
        nodeName: this.opts.name,
        sysRoot: this.sysRoot,
        pcidpConfigPath: this.pcidpConfigPath,
        stateDir: path.join(this.dir, 'state'),
        netns: this.netns.name,
        restartDevicePlugin: async () => {
          this.devicePluginRestarts++;
        },
        onSysfsWrite: intercept ? (rel, value) => intercept(rel, value, this.kernel.onWrite) : this.kernel.onWrite,
        ...(this.opts.ipPath ? { ipPath: this.opts.ipPath } : {}),
        defaultLinkWaitSeconds: 30,
        linkPollMs: 200,
      })),
    });
    this.workerRun = this.worker.run();
  }

  private upToDateBeforeEachCall(activities: NodeAgentActivities): NodeAgentActivities {
    return {
      configureInterface: async (input) => {
        await this.sync();
        return activities.configureInterface(input);
      },
      releaseInterface: async (input) => {
        await this.sync();
        return activities.releaseInterface(input);
      },
    };
  }

  /** The node's links (the veth peers the simulation uses as the other end are left out). */
  async links(): Promise<NsLink[]> {
    const names = new Set(this.kernel.devices.map((d) => d.ifname));
    return (await this.netns.links()).filter((l) => names.has(l.ifname));
  }

  /** The SR-IOV device plugin config the agent wrote, if any. */
  pcidpConfig(): unknown {
    try {
      return JSON.parse(fs.readFileSync(this.pcidpConfigPath, 'utf8'));
    } catch {
      return undefined;
    }
  }

  async stopAgent(): Promise<void> {
    if (this.worker) {
      // A SIGTERM may have started the shutdown already (the worker stops on the process's signals itself).
      if (this.worker.getState() === 'RUNNING') this.worker.shutdown();
      await this.workerRun;
      this.worker = undefined;
    }
  }

  /** Stops the hardware poll and the agent; the node (its dir and namespace) stays, to be started over. */
  async halt(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.polling;
    await this.stopAgent();
    await this.ownConnection?.close();
    this.ownConnection = undefined;
  }

  async stop(): Promise<void> {
    await this.halt();
    await this.netns.destroy();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
