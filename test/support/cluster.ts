// An end-to-end test cluster on the local stack: the controller as a process, simulated nodes (each with
// its instance in EC2, its Node object and its node agent), and the kubectl-level operations a user does.
import { PatchStrategy, setHeaderOptions, type V1Node, type V1Taint } from '@kubernetes/client-node';
import { DescribeNetworkInterfacesCommand, type NetworkInterface } from '@aws-sdk/client-ec2';
import { runInstances } from '../../dev/stack/seed.js';
import { SimulatedNode } from '../../dev/stack/sim/simulated-node.js';
import { API_GROUP, API_VERSION, NODEENI_PLURAL, TAG_CLUSTER } from '../../common/names.js';
import type { AttachmentStatus, NodeENI } from '../../common/nodeeni.js';
import { readNodeENI } from '../../cli/nodeeni-read.js';
import { ControllerProcess } from './controller-process.js';
import { NodeProcess } from './node-process.js';
import { eventually, kubeClients, motoEc2, stack, temporalClient, uniq } from './env.js';
import { proxy } from './proxy.js';

// The seeds' manifests with the account-specific IDs swapped for the emulator's (shared with the demo).
import { seedManifest } from '../../dev/demo/manifests.js';
export { seedManifest };

export interface TestNode {
  name: string;
  instanceId: string;
  sim?: SimulatedNode;
  /** The node run as a process of its own (`addNodes(..., { process: true })`), which a test can kill -9. */
  proc?: NodeProcess;
}

export class TestCluster {
  readonly runId = uniq('e2e');
  readonly nodes: TestNode[] = [];
  readonly controller: ControllerProcess;
  readonly k = kubeClients();
  readonly ec2 = motoEc2();
  private readonly nodeENIs = new Set<string>();

  /**
   * `temporal`: a Temporal other than the stack's (e.g. test/temporal-cluster's own cluster) for the controller, the
   * node agents and teardown; the stack's kube-apiserver and EC2 are used either way.
   */
  constructor(
    controllerEnv: Record<string, string> = {},
    readonly temporal: { address: string; namespace: string } = stack().temporal,
  ) {
    // Own task queue and sweep schedule: test runs sharing the stack never take each other's work.
    this.controller = new ControllerProcess(this.runId, {
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: temporal.namespace,
      CLUSTER_NAME: this.runId,
      NODEENI_SELECTOR: `test-run=${this.runId}`,
      TASK_QUEUE: this.taskQueue,
      FLEET_SCHEDULE_ID: `fleet-${this.runId}`,
      ...controllerEnv,
    });
  }

  get taskQueue(): string {
    return `multi-eni-controller-${this.runId}`;
  }

  get clusterName(): string {
    return this.runId;
  }

  /** Starts `count` instances, their simulated nodes (with agents) and their Node objects. */
  /**
   * The `ng` label value of this cluster's nodes. Test runs share one apiserver, so each selects only its
   * own nodes; seed manifests follow it (the value of a node label is the user's cluster's, like the IDs).
   */
  get nodeGroup(): string {
    return this.runId;
  }

  /** A seed manifest whose `ng` selector picks this cluster's nodes, under `name` if given (suites share the apiserver). */
  seed(file: string, name?: string): NodeENI {
    const obj = seedManifest(file);
    if (name !== undefined) obj.metadata.name = name;
    if (obj.spec.nodeSelector.ng !== undefined) obj.spec.nodeSelector = { ...obj.spec.nodeSelector, ng: this.nodeGroup };
    return obj;
  }

  async addNodes(count: number, labels: Record<string, string> = { ng: this.nodeGroup }, opts: { agent?: boolean; az?: string; process?: boolean; taints?: V1Taint[] } = {}): Promise<TestNode[]> {
    const s = stack();
    const instances = await runInstances(this.ec2, s.seed, count, opts.az ?? 'us-east-1a', undefined, this.clusterName);
    const added: TestNode[] = [];
    const first = this.nodes.length;
    for (const [i, inst] of instances.entries()) {
      const name = `${this.runId}-node-${first + i}`;
      let node: TestNode;
      if (opts.process) {
        const proc = new NodeProcess(name, inst.id);
        node = { name, instanceId: inst.id, proc };
        this.nodes.push(node); // torn down with the cluster even if the start fails
        await proc.start();
      } else {
        node = { name, instanceId: inst.id, sim: await SimulatedNode.start({ name, instanceId: inst.id, ec2: this.ec2, temporal: this.temporal, agent: opts.agent ?? true }) };
        this.nodes.push(node);
      }
      await this.k.core.createNode({
        body: { metadata: { name, labels }, spec: { providerID: `aws:///${inst.az}/${inst.id}`, ...(opts.taints ? { taints: opts.taints } : {}) } },
      });
      added.push(node);
    }
    return added;
  }

  async setNodeLabels(name: string, labels: Record<string, string | null>): Promise<void> {
    await this.k.core.patchNode({ name, body: { metadata: { labels } } }, mergePatch());
  }

  async getNode(name: string): Promise<V1Node> {
    return this.k.core.readNode({ name });
  }

  async deleteNode(name: string): Promise<void> {
    await this.k.core.deleteNode({ name });
  }

  /** Applies a NodeENI (scoped to this cluster's controller by a label), as `kubectl apply` would create it. */
  async apply(obj: NodeENI): Promise<NodeENI> {
    const body = { ...obj, metadata: { ...obj.metadata, labels: { ...(obj.metadata.labels ?? {}), 'test-run': this.runId } } };
    this.nodeENIs.add(obj.metadata.name);
    return (await this.k.custom.createClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODEENI_PLURAL, body })) as NodeENI;
  }

  async patchSpec(name: string, spec: Record<string, unknown>): Promise<void> {
    await this.k.custom.patchClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODEENI_PLURAL, name, body: { spec } }, mergePatch());
  }

  async get(name: string): Promise<NodeENI | undefined> {
    try {
      return (await this.k.custom.getClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODEENI_PLURAL, name })) as NodeENI;
    } catch (e) {
      if ((e as { code?: number }).code === 404) return undefined;
      throw e;
    }
  }

  /**
   * A NodeENI's attachments on one node as its NodeENIAttachment object says, the view the watcher decides from
   * (the NodeENI's own list is written from it at a bounded rate, so it may lag by about a second).
   */
  async attachmentsOn(name: string, node: string): Promise<AttachmentStatus[]> {
    return (await readNodeENI(this.k.custom, name, node)).status?.attachments ?? [];
  }

  async delete(name: string): Promise<void> {
    await this.k.custom.deleteClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODEENI_PLURAL, name }).catch((e: { code?: number }) => {
      if (e.code !== 404) throw e;
    });
  }

  /** Waits until the NodeENI reports `n` attachments, all Ready. */
  async waitReady(name: string, n: number, timeoutMs = 90000): Promise<NodeENI> {
    return eventually(
      `${name}: ${n} attachments Ready`,
      async () => {
        const o = await this.get(name);
        const a = o?.status?.attachments ?? [];
        return a.length === n && a.every((x) => x.phase === 'Ready') ? o : false;
      },
      timeoutMs,
    );
  }

  async waitGone(name: string, timeoutMs = 90000): Promise<void> {
    await eventually(`${name} deleted`, async () => (await this.get(name)) === undefined, timeoutMs);
  }

  /** ENIs in EC2 that carry this cluster's tag (what the controller created or adopted). */
  async enis(extra: { Name: string; Values: string[] }[] = []): Promise<NetworkInterface[]> {
    const r = await this.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: `tag:${TAG_CLUSTER}`, Values: [this.runId] }, ...extra] }));
    return r.NetworkInterfaces ?? [];
  }

  async events(name: string): Promise<{ type?: string; reason?: string; message?: string }[]> {
    const r = await this.k.core.listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${name}` });
    return r.items;
  }

  node(i: number): TestNode {
    const n = this.nodes[i];
    if (!n) throw new Error(`no node ${i}`);
    return n;
  }

  /** Deletes what the test made (NodeENIs first, so the controller releases their ENIs), then stops everything. */
  async teardown(): Promise<void> {
    for (const name of this.nodeENIs) await this.delete(name);
    for (const name of this.nodeENIs) await this.waitGone(name, 60000).catch(() => undefined);
    await this.controller.stop();
    const { client, connection } = await temporalClient({ ...stack(), temporal: { ...stack().temporal, ...this.temporal } });
    await client.schedule.getHandle(`fleet-${this.runId}`).delete().catch(() => undefined);
    await connection.close();
    for (const n of this.nodes) {
      await this.k.core.deleteNode({ name: n.name }).catch(() => undefined);
      await n.sim?.stop();
      await n.proc?.destroy();
    }
    this.ec2.destroy();
  }
}

/**
 * The usual cluster of a describe block: the EC2 proxy reset, `nodes` simulated nodes, the controller started;
 * torn down after the block.
 */
export function clusterForSuite(nodes = 1, controllerEnv: Record<string, string> = {}): TestCluster {
  const c = new TestCluster(controllerEnv);
  beforeAll(async () => {
    await proxy.reset();
    await c.addNodes(nodes);
    c.controller.start();
  }, 120000);
  afterAll(() => c.teardown(), 180000);
  return c;
}

export function mergePatch() {
  return setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
}
