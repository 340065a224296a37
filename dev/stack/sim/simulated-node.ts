// A simulated node for the local stack: what EC2 and the kernel do on a real instance, played on this
// machine. When EC2 (the emulator) shows an ENI attached to the node's instance, a device with the ENI's
// MAC is hot-plugged into the node's own network namespace and sysfs tree; when it is detached, it goes.
// The real node agent runs against that namespace and tree, on the node's own task queue.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DescribeNetworkInterfacesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createNodeAgentActivities } from '../../../node-agent/activities.js';
import { nodeTaskQueue } from '../../../common/names.js';
import type { NodeAgentActivities } from '../../../common/node-agent-contract.js';
import { FakeKernel, type FakeDevice } from './fake-kernel.js';
import { TestNetns, type NsLink } from './netns.js';

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
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `mneni-node-${opts.name.slice(0, 20)}-`));
    this.sysRoot = path.join(this.dir, 'sys');
    this.pcidpConfigPath = path.join(this.dir, 'etc', 'pcidp', 'config.json');
    this.netns = new TestNetns('mneni-node');
    this.kernel = new FakeKernel(this.sysRoot, this.netns, [], DRIVERS);
  }

  static async start(opts: SimulatedNodeOptions): Promise<SimulatedNode> {
    const node = new SimulatedNode(opts);
    await node.netns.create();
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
        await this.kernel.unplug(dev.pci);
        this.plugged.delete(attachmentId);
      }
    }
    for (const [attachmentId, a] of attached) {
      if (this.plugged.has(attachmentId)) continue;
      const dev: FakeDevice = { pci: pciForDeviceIndex(a.index), mac: a.mac, ifname: `eth${a.index}`, kernelDriver: KERNEL_DRIVER };
      if (this.kernel.devices.some((d) => d.pci === dev.pci)) continue; // slot still held by a device going away
      await this.kernel.plug(dev);
      this.plugged.set(attachmentId, dev);
    }
  }

  private async startAgent(): Promise<void> {
    const connection = this.opts.connection ?? (this.ownConnection = await NativeConnection.connect({ address: this.opts.temporal.address }));
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
        onSysfsWrite: this.kernel.onWrite,
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
      this.worker.shutdown();
      await this.workerRun;
      this.worker = undefined;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.polling;
    await this.stopAgent();
    await this.ownConnection?.close();
    await this.netns.destroy();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
