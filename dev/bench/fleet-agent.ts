// STAND-IN for the node agent at fleet scale (benchmark only, not product code). One process plays every
// node: one Temporal Worker per node task queue (`multi-eni-node/<node>`) on one shared NativeConnection,
// activity-only with one long poll each. Its activities answer from an in-memory link table that follows EC2
// attachments (MAC -> eth<deviceIndex>), read straight from the emulator (not through the counted proxy):
// no network namespace, no sysfs, no DPDK driver binds. What it keeps of the real agent is the contract
// (common/node-agent-contract.ts), the wait for the hot-plugged link by MAC, heartbeats while waiting, and
// one task queue per node, which is what the controller and the Temporal server see.
import { DescribeNetworkInterfacesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { NativeConnection, Worker } from '@temporalio/worker';
import { NODE_AGENT_ERRORS, type NodeAgentActivities } from '../../common/node-agent-contract.js';
import { nodeTaskQueue } from '../../common/names.js';
import { pciForDeviceIndex } from '../stack/sim/simulated-node.js';

export interface FleetNode {
  name: string;
  instanceId: string;
}

export interface FleetAgentOptions {
  nodes: FleetNode[];
  temporal: { address: string; namespace: string };
  /** EC2 client straight to the emulator (the "hardware" view). */
  ec2: EC2Client;
  /** How often the link table is refreshed while some configure waits for a link. */
  refreshMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class FleetAgent {
  /** instance ID -> (MAC -> device index) of attached ENIs: the "kernel's" links of every node. */
  private readonly links = new Map<string, Map<string, number>>();
  private readonly wanted = new Set<string>();
  private waiting: (() => void)[] = [];
  private refreshing = false;
  private stopped = false;
  private workers: { worker: Worker; run: Promise<void> }[] = [];
  private connection?: NativeConnection;
  /** Describe calls the stand-in made to the emulator (not the controller's; not counted at the proxy). */
  describes = 0;

  private constructor(private readonly o: FleetAgentOptions) {}

  static async start(o: FleetAgentOptions): Promise<FleetAgent> {
    const a = new FleetAgent(o);
    a.connection = await NativeConnection.connect({ address: o.temporal.address });
    for (const n of o.nodes) {
      const worker = await Worker.create({
        connection: a.connection,
        namespace: o.temporal.namespace,
        taskQueue: nodeTaskQueue(n.name),
        activities: a.activities(n),
        // One long poll per node. (SDK 1.24 ignores maxConcurrentActivityTaskPolls: without a poller behaviour a
        // worker opens min(10, maxConcurrentActivityTaskExecutions) polls, and 500 nodes x 8 exceed the server's
        // per-namespace limit on concurrent polls, frontend.namespaceCount = 1200.)
        activityTaskPollerBehavior: { type: 'simple-maximum', maximum: 1 },
        maxConcurrentActivityTaskExecutions: 8,
        shutdownGraceTime: '2s',
      });
      a.workers.push({ worker, run: worker.run() });
    }
    return a;
  }

  private activities(n: FleetNode): NodeAgentActivities {
    return {
      configureInterface: async (input) => {
        const deadline = Date.now() + (input.linkWaitSeconds ?? 60) * 1000;
        for (;;) {
          const index = this.links.get(n.instanceId)?.get(input.macAddress.toLowerCase());
          if (index !== undefined) {
            const dpdk = input.dpdk !== undefined;
            return {
              ...(dpdk ? {} : { interfaceName: `eth${index}` }),
              pciAddress: input.dpdk?.pciAddress ?? pciForDeviceIndex(index),
              ...(input.mtu ? { mtu: input.mtu } : {}),
              state: dpdk ? 'dpdk' : 'up',
              dpdkBound: dpdk,
              ...(dpdk ? { dpdkDriver: input.dpdk!.driver, originalDriver: 'ena' } : {}),
            };
          }
          if (Date.now() > deadline) {
            throw ApplicationFailure.nonRetryable(`stand-in agent: no link with MAC ${input.macAddress} on ${n.name}`, NODE_AGENT_ERRORS.linkNotFound);
          }
          Context.current().heartbeat({ waitingForMac: input.macAddress });
          await this.nextRefresh(n.instanceId);
        }
      },
      releaseInterface: async (input) => {
        const index = this.links.get(n.instanceId)?.get(input.macAddress.toLowerCase());
        return { changed: index !== undefined, ...(index !== undefined ? { interfaceName: `eth${index}` } : {}), ...(input.dpdk ? { restoredDriver: 'ena' } : {}) };
      },
    };
  }

  /** Resolves after a refresh of this instance's links that started after the call. */
  private nextRefresh(instanceId: string): Promise<void> {
    this.wanted.add(instanceId);
    const p = new Promise<void>((r) => this.waiting.push(r));
    if (!this.refreshing) void this.refreshLoop();
    return p;
  }

  private async refreshLoop(): Promise<void> {
    this.refreshing = true;
    try {
      while (this.waiting.length > 0) {
        const waiting = this.waiting;
        this.waiting = [];
        const ids = [...this.wanted];
        this.wanted.clear();
        await this.refresh(ids).catch(() => undefined); // the emulator busy: the waiters look again
        for (const r of waiting) r();
        if (this.stopped) break;
        await sleep(this.o.refreshMs ?? 500);
      }
    } finally {
      this.refreshing = false;
    }
  }

  private async refresh(instanceIds: string[]): Promise<void> {
    for (let i = 0; i < instanceIds.length; i += 200) {
      const chunk = instanceIds.slice(i, i + 200);
      const found = new Map<string, Map<string, number>>(chunk.map((id) => [id, new Map()]));
      let token: string | undefined;
      do {
        this.describes++;
        const r = await this.o.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: chunk }], NextToken: token }));
        for (const e of r.NetworkInterfaces ?? []) {
          const a = e.Attachment;
          if (!a?.InstanceId || !e.MacAddress || !a.DeviceIndex || a.Status === 'detached') continue; // index 0: the host's own
          found.get(a.InstanceId)?.set(e.MacAddress.toLowerCase(), a.DeviceIndex);
        }
        token = r.NextToken;
      } while (token);
      for (const [id, m] of found) this.links.set(id, m);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.workers) w.worker.shutdown();
    await Promise.allSettled(this.workers.map((w) => w.run));
    for (const r of this.waiting) r();
    await this.connection?.close();
  }
}
