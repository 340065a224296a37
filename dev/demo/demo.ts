// The demo's machinery, usable in-process (the browser test) or from the command line (dev/demo/main.ts):
// the local stack (reused when healthy), the controller as a child process, simulated nodes with their node
// agents and Node objects, the seeds' NodeENIs applied as a user would, live progress, what a user checks
// once everything is Ready, and a clean stop of everything it started.
import { spawn, execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { DescribeNetworkInterfacesCommand, TerminateInstancesCommand, type EC2Client, type NetworkInterface } from '@aws-sdk/client-ec2';
import { Client, Connection, ScheduleNotFoundError } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { LABEL_NODEENI, labelValue } from '../../common/nodeeni-attachment.js';
import { readNodeENI } from '../../cli/nodeeni-read.js';
import { API_GROUP, API_VERSION, CONTROLLER_TASK_QUEUE, FLEET_SCHEDULE_ID, NODEENI_PLURAL, TAG_CLUSTER, TAG_NODE, nodeTaskQueue } from '../../common/names.js';
import type { NodeENI } from '../../common/nodeeni.js';
import { REPO_ROOT, TOOLS_BIN } from '../stack/paths.js';
import { isAlive, portFree, sleep } from '../stack/processes.js';
import { emulatorClient, runInstances, type SeededInstance } from '../stack/seed.js';
import { SimulatedNode } from '../stack/sim/simulated-node.js';
import { readState, stackEnv, stackHealthy, startStack, stopStack, type StackState } from '../stack/stack.js';
import { selectorLabel, type DemoArgs } from './args.js';
import { elapsed, progressLine, progressOf, table, workflowUrl, workflowsUrl, type Progress } from './format.js';
import { demoManifests, multiAzManifest, subnetCount, type DemoManifest } from './manifests.js';
import { DEFAULT_LABEL, DEFAULT_TAINT_KEY } from '../../watcher/node-readiness.js';

/** The readiness gate's taint and label, as the chart's defaults. */
export const GATE_TAINT = DEFAULT_TAINT_KEY;
export const [GATE_LABEL_KEY, GATE_LABEL_VALUE] = DEFAULT_LABEL.split('=') as [string, string];
/** The AZs of the seed 003 topology the telco nodes join in, one node each. */
export const GATE_AZS = ['us-east-1a', 'us-east-1b'] as const;

const execFileP = promisify(execFile);
const REQUIRED_TOOLS = ['temporal', 'kubectl', 'etcd', 'kube-apiserver', 'moto_server'];

export interface DemoNode {
  name: string;
  instance: SeededInstance;
  sim: SimulatedNode;
}

export interface ReadyReport {
  kubectlWide: string;
  enis: NetworkInterface[];
  /** NodeENI name → Web UI list URL for `NodeENI="<name>"`. */
  uiQueries: Record<string, string>;
}

export class DemoAborted extends Error {
  constructor() {
    super('stopped by a signal');
  }
}

export class Demo {
  readonly runId = randomBytes(2).toString('hex');
  readonly t0 = Date.now();
  state?: StackState;
  startedStack = false;
  controller?: ChildProcess;
  controllerLog?: string;
  metricsPort?: number;
  readonly nodes: DemoNode[] = [];
  /** The telco nodes that join with the readiness taint (one per AZ), served by the multi-AZ NodeENI. */
  readonly gateNodes: DemoNode[] = [];
  manifests: DemoManifest[] = [];
  private readonly applied: string[] = [];
  private readonly nodeObjects: string[] = [];
  private instances: SeededInstance[] = [];
  private ec2?: EC2Client;
  private connection?: NativeConnection;
  private kc?: KubeConfig;
  private core?: CoreV1Api;
  private custom?: CustomObjectsApi;
  private aborted = false;
  private stopping?: Promise<void>;
  /** Where the in-process node agents' log goes (under the stack's logs once the stack is known). */
  nodeAgentLog?: string;
  private pendingAgentLog: string[] = [];

  constructor(
    readonly args: DemoArgs,
    private readonly out: (line: string) => void = (l) => console.log(l),
  ) {}

  say(line: string): void {
    this.out(`${elapsed(this.t0)} ${line}`);
  }

  /** Makes a running start() or waitReady() stop at its next step (SIGINT/SIGTERM). */
  abort(): void {
    this.aborted = true;
  }

  /** A line of the in-process node agents' log (the Temporal runtime logger of dev/demo/main.ts writes here). */
  agentLog(line: string): void {
    if (!this.nodeAgentLog) {
      if (this.pendingAgentLog.length < 10000) this.pendingAgentLog.push(line);
      return;
    }
    fs.appendFileSync(this.nodeAgentLog, `${[...this.pendingAgentLog.splice(0), line].join('\n')}\n`);
  }

  private check(): void {
    if (this.aborted) throw new DemoAborted();
  }

  get fleetScheduleId(): string {
    return this.args.taskQueue === CONTROLLER_TASK_QUEUE ? FLEET_SCHEDULE_ID : `fleet-${this.args.taskQueue}`;
  }

  get nodeNames(): Set<string> {
    return new Set(this.nodes.map((n) => n.name));
  }

  /** The `ng` label of the telco nodes (the multi-AZ NodeENI selects it). */
  get telcoGroup(): string {
    return `${this.args.nodeGroup}-telco`;
  }

  // ---------- start ----------

  async start(): Promise<void> {
    await this.ensureStack();
    this.check();
    const s = this.state!;
    this.nodeAgentLog = path.join(s.dir, 'logs', `demo-${this.runId}-node-agents.log`);
    this.ec2 = emulatorClient(s.ec2.motoEndpoint, s.ec2.region);
    this.kc = new KubeConfig();
    this.kc.loadFromFile(s.kube.kubeconfig);
    this.core = this.kc.makeApiClient(CoreV1Api);
    this.custom = this.kc.makeApiClient(CustomObjectsApi);

    this.instances = await runInstances(this.ec2, s.seed, this.args.nodes, 'us-east-1a', undefined, this.args.clusterName);
    this.say(`EC2: ${this.instances.length} instance(s) started for the nodes: ${this.instances.map((i) => `${i.id} (${i.az})`).join(', ')}`);
    this.check();

    await this.startController();
    this.check();

    this.connection = await NativeConnection.connect({ address: s.temporal.address });
    for (const [i, instance] of this.instances.entries()) {
      const name = `demo-${this.runId}-node-${i}`;
      const sim = await SimulatedNode.start({ name, instanceId: instance.id, ec2: this.ec2, temporal: s.temporal, connection: this.connection });
      this.nodes.push({ name, instance, sim });
      // The zone label a kubelet on EC2 sets: with it a NodeENI can select the nodes its subnets' AZ can serve.
      const labels = { ng: this.args.nodeGroup, 'topology.kubernetes.io/zone': instance.az, ...selectorLabel(this.args.selector) };
      await this.core.createNode({ body: { metadata: { name, labels }, spec: { providerID: `aws:///${instance.az}/${instance.id}` } } });
      this.nodeObjects.push(name);
      this.say(
        `node ${name}: Node labels ${Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',')}, providerID aws:///${instance.az}/${instance.id}, ` +
          `netns ${sim.netns.name}, node agent on task queue ${nodeTaskQueue(name)}`,
      );
      this.check();
    }

    this.manifests = demoManifests(s.seed, { nameSuffix: this.args.nameSuffix, labels: selectorLabel(this.args.selector), nodeGroup: this.args.nodeGroup });
    for (const m of this.manifests) {
      await this.apply(m.obj);
      this.applied.push(m.obj.metadata.name);
      const sp = m.obj.spec;
      const subnets = [...(sp.subnetID ? [sp.subnetID] : []), ...(sp.subnetIDs ?? []), ...(sp.subnetName ? [sp.subnetName] : []), ...(sp.subnetNames ?? [])];
      const what = [
        `subnet${subnets.length > 1 ? 's' : ''} ${subnets.map((x) => this.subnetLabel(x)).join(', ')}`,
        `device index ${sp.deviceIndex}`,
        sp.mtu ? `MTU ${sp.mtu}` : undefined,
        sp.enableDPDK ? `DPDK ${sp.dpdkDriver ?? 'vfio-pci'} at ${sp.dpdkPCIAddress}` : sp.dpdkResourceName ? `SR-IOV resource ${sp.dpdkResourceName} (kernel driver)` : undefined,
      ].filter(Boolean);
      this.say(`applied NodeENI ${m.obj.metadata.name} (test/fixtures/seeds/${m.file}): ${what.join(', ')}`);
      for (const n of m.notes) this.say(`  changed for the demo: ${n}`);
    }
  }

  private subnetLabel(idOrName: string): string {
    const s = this.state!.seed.subnets.find((x) => x.id === idOrName || x.name === idOrName);
    return s ? `${s.id} (${s.name}, ${s.az})` : idOrName;
  }

  private async ensureStack(): Promise<void> {
    const existing = readState();
    if (existing && (await stackHealthy(existing))) {
      this.state = existing;
      this.say(`stack: reusing the running local stack (${existing.dir})`);
      return;
    }
    const missing = REQUIRED_TOOLS.filter((t) => !fs.existsSync(path.join(TOOLS_BIN, t)));
    if (missing.length) {
      this.say(`tools missing in ${TOOLS_BIN} (${missing.join(', ')}): running dev/stack/install.sh (progress on stderr)`);
      await new Promise<void>((resolve, reject) => {
        const c = spawn('bash', [path.join(REPO_ROOT, 'dev', 'stack', 'install.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
        c.once('error', reject);
        c.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`dev/stack/install.sh exited with ${code}`))));
      });
    }
    if (existing) {
      this.say('stack: the recorded stack is not healthy; stopping what is left of it');
      await stopStack((l) => this.say(`stack: ${l}`));
    }
    this.say('stack: starting the local stack (Temporal + Web UI, kube-apiserver + etcd, moto + EC2 proxy)');
    this.startedStack = true;
    this.state = await startStack({ progress: (l) => this.say(`stack: ${l}`) });
  }

  private async freePortPair(): Promise<number> {
    for (let p = 19400 + Math.floor(Math.random() * 200) * 2; p < 20000; p += 2) {
      if ((await portFree(p)) && (await portFree(p + 1))) return p;
    }
    throw new Error('no free port pair for the controller metrics in 19400-20000');
  }

  private async startController(): Promise<void> {
    const s = this.state!;
    this.metricsPort = await this.freePortPair();
    this.controllerLog = path.join(s.dir, 'logs', `controller-demo-${this.runId}.log`);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...stackEnv(s),
      LEADER_ELECTION: 'false',
      METRICS_PORT: String(this.metricsPort),
      CLUSTER_NAME: this.args.clusterName,
      TASK_QUEUE: this.args.taskQueue,
      FLEET_SCHEDULE_ID: this.fleetScheduleId,
      POLL_MS: '300',
      ...(this.args.selector ? { NODEENI_SELECTOR: this.args.selector } : {}),
      // The readiness gate, on the telco nodes only (the chart's readinessGate.nodeSelector).
      READINESS_GATE: 'true',
      READINESS_GATE_NODE_SELECTOR: `ng=${this.telcoGroup}`,
    };
    const fd = fs.openSync(this.controllerLog, 'a');
    // Its own process group: a Ctrl-C in the terminal reaches the demo only, which still needs the
    // controller to release the ENIs before stopping it.
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'dist', 'workers', 'controller.js')], { env, stdio: ['ignore', fd, fd], detached: true });
    fs.closeSync(fd);
    this.controller = child;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + 60000;
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${this.metricsPort}/readyz`, { signal: AbortSignal.timeout(1000) })
        .then((r) => r.ok)
        .catch(() => false);
      if (ok) break;
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
        throw new Error(`the controller did not start; its log is ${this.controllerLog}:\n${tailOf(this.controllerLog)}`);
      }
      await Promise.race([sleep(200), exited]);
    }
    this.say(
      `controller: pid ${child.pid}, task queue ${this.args.taskQueue}, cluster ${this.args.clusterName}` +
        `${this.args.selector ? `, NodeENIs labelled ${this.args.selector}` : ''}, metrics http://127.0.0.1:${this.metricsPort}/metrics, log ${this.controllerLog}`,
    );
  }

  /** `kubectl apply` of one NodeENI: create it, or bring an existing one (an earlier run's) to this spec. */
  private async apply(obj: NodeENI): Promise<void> {
    const ref = { group: API_GROUP, version: API_VERSION, plural: NODEENI_PLURAL };
    try {
      await this.custom!.createClusterCustomObject({ ...ref, body: obj });
      return;
    } catch (e) {
      if ((e as { code?: number }).code !== 409) throw e;
    }
    const existing = await this.get(obj.metadata.name);
    if (existing?.metadata.deletionTimestamp) {
      this.say(`NodeENI ${obj.metadata.name} from an earlier run is being deleted; waiting for it to go`);
      await this.waitGone([obj.metadata.name], 120000);
      await this.custom!.createClusterCustomObject({ ...ref, body: obj });
      return;
    }
    await this.custom!.patchClusterCustomObject(
      { ...ref, name: obj.metadata.name, body: { metadata: { labels: obj.metadata.labels ?? {} }, spec: obj.spec } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  /** The NodeENI with every attachment (from its NodeENIAttachment objects) in status.attachments. */
  async get(name: string): Promise<NodeENI | undefined> {
    try {
      return await readNodeENI(this.custom!, name);
    } catch (e) {
      if ((e as { code?: number }).code === 404) return undefined;
      throw e;
    }
  }

  // ---------- progress ----------

  desiredOf(obj: NodeENI): number {
    return subnetCount(obj) * this.nodes.length;
  }

  async progress(): Promise<Progress[]> {
    const nodes = this.nodeNames;
    return Promise.all(this.manifests.map(async (m) => progressOf(await this.get(m.obj.metadata.name), m.obj.metadata.name, nodes, this.desiredOf(m.obj))));
  }

  /** Prints a compact line per NodeENI whenever something changes, until every attachment is Ready. */
  async waitReady(timeoutMs = this.args.timeoutSeconds * 1000): Promise<void> {
    const t = Date.now();
    const width = Math.max(...this.manifests.map((m) => m.obj.metadata.name.length));
    const total = this.manifests.reduce((n, m) => n + this.desiredOf(m.obj), 0);
    this.say(`waiting for ${total} attachments (${this.manifests.length} NodeENIs x ${this.nodes.length} node${this.nodes.length === 1 ? '' : 's'}, one per subnet) to be Ready:`);
    const last = new Map<string, string>();
    for (;;) {
      this.check();
      let ps: Progress[];
      try {
        ps = await this.progress();
      } catch (e) {
        this.say(`(could not read NodeENIs: ${e instanceof Error ? e.message : String(e)})`);
        await sleep(1000);
        continue;
      }
      for (const p of ps) {
        const line = progressLine(p, width);
        if (last.get(p.name) !== line) this.say(`  ${line}`);
        last.set(p.name, line);
      }
      if (ps.every((p) => p.done)) {
        this.say(`all ${total} attachments Ready on ${this.nodes.length} node${this.nodes.length === 1 ? '' : 's'} in ${((Date.now() - t) / 1000).toFixed(1)}s`);
        return;
      }
      if (Date.now() - t > timeoutMs) {
        throw new Error(`not every attachment was Ready after ${timeoutMs / 1000}s; the controller log is ${this.controllerLog}:\n${tailOf(this.controllerLog!)}`);
      }
      await sleep(500);
    }
  }

  // ---------- what a user checks ----------

  private kubectlEnv(): NodeJS.ProcessEnv {
    return { ...process.env, KUBECONFIG: this.state!.kube.kubeconfig };
  }

  async kubectl(args: string[]): Promise<string> {
    const r = await execFileP(path.join(TOOLS_BIN, 'kubectl'), args, { env: this.kubectlEnv() });
    return r.stdout;
  }

  /** The demo's ENIs in EC2, straight from the emulator (not through the controller's endpoint). */
  async enis(nodes: readonly DemoNode[] = this.nodes): Promise<NetworkInterface[]> {
    if (!nodes.length) return [];
    const r = await this.ec2!.send(
      new DescribeNetworkInterfacesCommand({
        Filters: [
          { Name: `tag:${TAG_CLUSTER}`, Values: [this.args.clusterName] },
          { Name: `tag:${TAG_NODE}`, Values: nodes.map((n) => n.name) },
        ],
      }),
    );
    return r.NetworkInterfaces ?? [];
  }

  async report(): Promise<ReadyReport> {
    const s = this.state!;
    const print = (l = '') => this.out(l);
    const kubectlArgs = ['get', 'nodeenis', '-o', 'wide', ...(this.args.selector ? ['-l', this.args.selector] : [])];
    const kubectlWide = await this.kubectl(kubectlArgs);
    print();
    print(`== What a user checks`);
    print();
    print(`$ export KUBECONFIG=${s.kube.kubeconfig}`);
    print(`$ kubectl ${kubectlArgs.join(' ')}`);
    print(kubectlWide.trimEnd());
    // One row per (NodeENI, node): the pairs' own objects, where every attachment is whatever the fleet's size.
    const pairsArgs = ['get', 'nodeeniattachments', '-o', 'wide', '-l', `${LABEL_NODEENI} in (${this.applied.map(labelValue).join(',')})`];
    const pairsWide = await this.kubectl(pairsArgs);
    print();
    print(`$ kubectl ${pairsArgs.map((a) => (a.includes(' ') ? `'${a}'` : a)).join(' ')}`);
    print(pairsWide.trimEnd());

    const enis = (await this.enis()).sort((a, b) => tagOf(a, 'NodeENI').localeCompare(tagOf(b, 'NodeENI')) || tagOf(a, TAG_NODE).localeCompare(tagOf(b, TAG_NODE)) || (a.Attachment?.DeviceIndex ?? 0) - (b.Attachment?.DeviceIndex ?? 0));
    print();
    print(`$ aws ec2 describe-network-interfaces --filters Name=tag:${TAG_CLUSTER},Values=${this.args.clusterName}   (the SDK against moto: ${s.ec2.motoEndpoint})`);
    print(
      table(
        ['ENI', 'NODEENI (tag)', 'NODE (tag)', 'SUBNET', 'INDEX', 'STATUS', 'MAC', 'SGS'],
        enis.map((e) => [
          e.NetworkInterfaceId ?? '',
          tagOf(e, 'NodeENI'),
          tagOf(e, TAG_NODE),
          `${e.SubnetId} (${s.seed.subnets.find((x) => x.id === e.SubnetId)?.name ?? '?'})`,
          String(e.Attachment?.DeviceIndex ?? '-'),
          e.Attachment?.Status ?? e.Status ?? '',
          e.MacAddress ?? '',
          (e.Groups ?? []).map((g) => g.GroupName ?? g.GroupId).join(','),
        ]),
      ),
    );
    const sample = enis[0];
    if (sample) {
      print(`tags on ${sample.NetworkInterfaceId}: ${(sample.TagSet ?? []).map((t) => `${t.Key}=${t.Value}`).join('  ')}`);
    }

    for (const n of this.nodes) {
      const names = new Set(n.sim.kernel.devices.map((d) => d.ifname));
      const out = await execFileP('ip', ['-n', n.sim.netns.name, '-br', 'link']);
      const lines = out.stdout
        .split('\n')
        .filter((l) => names.has(l.split(/\s+/)[0]!.split('@')[0]!))
        .map((l) => l.trimEnd())
        .sort();
      const mtus = new Map((await n.sim.links()).map((l) => [l.ifname, l.mtu]));
      print();
      print(`$ ip -n ${n.sim.netns.name} -br link      # node ${n.name} (the simulation's veth peers left out)`);
      for (const l of lines) {
        const ifname = l.split(/\s+/)[0]!.split('@')[0]!;
        print(`${l}  mtu ${mtus.get(ifname) ?? '?'}`);
      }
      print(`PCI devices and drivers on ${n.name} (sysfs ${n.sim.sysRoot}/bus/pci/devices):`);
      const byMac = new Map(enis.map((e) => [e.MacAddress, e]));
      print(
        table(
          ['PCI', 'DRIVER', 'INTERFACE', 'ENI', 'NODEENI'],
          [...n.sim.kernel.devices]
            .sort((a, b) => a.pci.localeCompare(b.pci))
            .map((d) => {
              const driver = n.sim.kernel.driverOf(d.pci) ?? '(none)';
              const e = byMac.get(d.mac);
              return [d.pci, driver === 'ena' ? 'ena (kernel)' : `${driver} (DPDK)`, driver === 'ena' ? d.ifname : '-', e?.NetworkInterfaceId ?? '?', e ? tagOf(e, 'NodeENI') : '?'];
            }),
        ),
      );
      print(`SR-IOV device plugin config ${n.sim.pcidpConfigPath}:`);
      print(JSON.stringify(n.sim.pcidpConfig() ?? null));
    }

    const ns = s.temporal.namespace;
    const uiQueries = Object.fromEntries(this.applied.map((name) => [name, workflowsUrl(s.temporal.uiUrl, ns, `NodeENI="${name}"`)]));
    print();
    print(`== Temporal Web UI: ${s.temporal.uiUrl}  (one workflow per NodeENI and node; search attributes NodeENI, NodeName, InstanceId, EniIds, EniPhase)`);
    for (const [name, url] of Object.entries(uiQueries)) print(`${name.padEnd(Math.max(...this.applied.map((x) => x.length)))}  ${url}`);
    const n0 = this.nodes[0];
    if (n0) {
      print(`node ${n0.name}:  ${workflowsUrl(s.temporal.uiUrl, ns, `NodeName="${n0.name}"`)}`);
      print(`one lifecycle:  ${workflowUrl(s.temporal.uiUrl, ns, `nodeeni/${this.applied[0]}/${n0.name}`)}`);
    }
    const e0 = enis[0]?.NetworkInterfaceId;
    if (e0) print(`by ENI:  ${workflowsUrl(s.temporal.uiUrl, ns, `EniIds="${e0}"`)}`);
    print();
    return { kubectlWide, enis, uiQueries };
  }

  // ---------- multi-AZ NodeENI and the readiness gate ----------

  /**
   * The seed 003 topology: one NodeENI over two Multus subnets in each of two AZs; then one telco node per AZ joins
   * with the readiness taint (as an EKS node group's or Karpenter NodePool's startupTaints put it). The controller
   * lifts the taint and sets the ready label once the node's ENIs (its own AZ's two subnets) are Ready.
   */
  async readinessGate(timeoutMs = this.args.timeoutSeconds * 1000): Promise<void> {
    const s = this.state!;
    const print = (l = '') => this.out(l);
    const m = multiAzManifest(s.seed, { nameSuffix: this.args.nameSuffix, labels: selectorLabel(this.args.selector), nodeGroup: this.telcoGroup });
    await this.apply(m.obj);
    this.applied.push(m.obj.metadata.name);
    print('== Multi-AZ NodeENI and the readiness gate');
    this.say(
      `applied NodeENI ${m.obj.metadata.name}: subnets ${(m.obj.spec.subnetNames ?? []).map((x) => this.subnetLabel(x)).join(', ')}, device index ${m.obj.spec.deviceIndex}; ` +
        `nodeSelector ng=${this.telcoGroup}`,
    );
    for (const n of m.notes) this.say(`  ${n}`);
    const taint = { key: GATE_TAINT, effect: 'NoSchedule' };
    for (const [i, az] of GATE_AZS.entries()) {
      this.check();
      const [instance] = await runInstances(this.ec2!, s.seed, 1, az, undefined, this.args.clusterName);
      this.instances.push(instance!);
      const name = `demo-${this.runId}-telco-${i}`;
      const sim = await SimulatedNode.start({ name, instanceId: instance!.id, ec2: this.ec2!, temporal: s.temporal, connection: this.connection });
      this.gateNodes.push({ name, instance: instance!, sim });
      const labels = { ng: this.telcoGroup, 'topology.kubernetes.io/zone': az, ...selectorLabel(this.args.selector) };
      await this.core!.createNode({ body: { metadata: { name, labels }, spec: { providerID: `aws:///${az}/${instance!.id}`, taints: [taint] } } });
      this.nodeObjects.push(name);
      this.say(`telco node ${name} joins in ${az} (${instance!.id}) with the startup taint ${GATE_TAINT}:NoSchedule; its netns ${sim.netns.name}`);
    }

    const t = Date.now();
    const last = new Map<string, string>();
    for (;;) {
      this.check();
      const states = await Promise.all(this.gateNodes.map((n) => this.gateState(n, m.obj.metadata.name)));
      for (const st of states) {
        if (last.get(st.name) !== st.line) this.say(`  ${st.line}`);
        last.set(st.name, st.line);
      }
      if (states.every((x) => x.lifted)) break;
      if (Date.now() - t > timeoutMs) throw new Error(`the readiness taint was not lifted after ${timeoutMs / 1000}s; the controller log is ${this.controllerLog}:\n${tailOf(this.controllerLog!)}`);
      await sleep(500);
    }
    this.say(`readiness taint lifted on ${this.gateNodes.length} telco nodes in ${((Date.now() - t) / 1000).toFixed(1)}s, each labelled ${DEFAULT_LABEL}`);

    const columns = [
      'NAME:.metadata.name',
      'ZONE:.metadata.labels.topology\\.kubernetes\\.io/zone',
      `READY-LABEL:.metadata.labels.${GATE_LABEL_KEY.replaceAll('.', '\\.')}`,
      'TAINTS:.spec.taints[*].key',
    ].join(',');
    const kubectlArgs = ['get', 'nodes', '-l', `ng=${this.telcoGroup}`, '-o', `custom-columns=${columns}`];
    print();
    print(`$ kubectl ${kubectlArgs.map((a) => (a.includes('*') ? `'${a}'` : a)).join(' ')}`);
    print((await this.kubectl(kubectlArgs)).trimEnd());
    print(`(node.kubernetes.io/not-ready is the apiserver's own taint on a new Node, which a kubelet clears; simulated nodes have none)`);
    const enis = (await this.enis(this.gateNodes)).sort((a, b) => tagOf(a, TAG_NODE).localeCompare(tagOf(b, TAG_NODE)) || (a.Attachment?.DeviceIndex ?? 0) - (b.Attachment?.DeviceIndex ?? 0));
    print();
    print(`ENIs of ${m.obj.metadata.name}: each node gets its own AZ's two subnets, device indexes 2 and 3`);
    print(
      table(
        ['ENI', 'NODE (tag)', 'AZ', 'SUBNET', 'INDEX', 'STATUS'],
        enis.map((e) => {
          const sub = s.seed.subnets.find((x) => x.id === e.SubnetId);
          return [e.NetworkInterfaceId ?? '', tagOf(e, TAG_NODE), sub?.az ?? '?', `${e.SubnetId} (${sub?.name ?? '?'})`, String(e.Attachment?.DeviceIndex ?? '-'), e.Attachment?.Status ?? e.Status ?? ''];
        }),
      ),
    );
    print();
    // From NodeENI to a pod with net1: the kubectl plugin prints a NetworkAttachmentDefinition per attachment, over the
    // ENI's own addresses (those EC2 routes to it).
    const node = this.gateNodes[0]!.name;
    const nadArgs = ['nad', m.obj.metadata.name, node, '--nad-namespace', 'telco'];
    print(`$ kubectl nodeeni ${nadArgs.join(' ')}`);
    const nad = await execFileP(process.execPath, [path.join(REPO_ROOT, 'dist', 'cli', 'kubectl-nodeeni.js'), ...nadArgs], { env: this.kubectlEnv() });
    print(nad.stdout.trimEnd());
    print(`(pods using one select its node: kubernetes.io/hostname=${node}; \`kubectl nodeeni nad ... | kubectl apply -f -\` creates them)`);
    print();
  }

  /** One telco node's gate state: its taint, its label and its attachments of the multi-AZ NodeENI. */
  private async gateState(n: DemoNode, nodeENI: string): Promise<{ name: string; line: string; lifted: boolean }> {
    const node = await this.core!.readNode({ name: n.name });
    const tainted = (node.spec?.taints ?? []).some((x) => x.key === GATE_TAINT);
    const label = node.metadata?.labels?.[GATE_LABEL_KEY];
    const mine = ((await this.get(nodeENI))?.status?.attachments ?? []).filter((a) => a.nodeID === n.name);
    const phases = mine.map((a) => a.phase ?? '?').join(',') || 'none yet';
    const line = `${n.name} (${n.instance.az}): ${nodeENI} ${mine.filter((a) => a.phase === 'Ready').length}/2 Ready [${phases}]; taint ${tainted ? 'present' : 'removed'}; label ${label === undefined ? 'absent' : `${GATE_LABEL_KEY}=${label}`}`;
    return { name: n.name, line, lifted: !tainted && label === GATE_LABEL_VALUE };
  }

  // ---------- stop ----------

  async waitGone(names: string[], timeoutMs: number): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    let left = names;
    while (left.length && Date.now() < deadline) {
      const still: string[] = [];
      for (const n of left) if (await this.get(n).catch(() => ({}) as NodeENI)) still.push(n);
      left = still;
      if (left.length) await sleep(500);
    }
    return left;
  }

  /** Last resort on a second Ctrl-C: end the controller and remove the namespaces, synchronously. */
  abandon(): void {
    if (this.controller?.pid && this.controller.exitCode === null) this.controller.kill('SIGKILL');
    for (const n of this.nodes) {
      try {
        execFileSync('ip', ['netns', 'del', n.sim.netns.name], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  }

  /** Deletes the NodeENIs (waiting until their ENIs are released), then stops everything the demo started. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const problems: string[] = [];
    const step = async (what: string, fn: () => Promise<void>) => {
      try {
        await fn();
      } catch (e) {
        problems.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
        this.say(`cleanup: ${what} failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    };
    this.say('cleanup: deleting the NodeENIs; the controller releases their ENIs (node agent, detach, delete)');
    const controllerUp = this.controller && this.controller.exitCode === null && this.controller.signalCode === null;
    if (this.applied.length) {
      await step('delete NodeENIs', async () => {
        for (const name of this.applied) {
          await this.custom!.deleteClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODEENI_PLURAL, name }).catch((e: { code?: number }) => {
            if (e.code !== 404) throw e;
          });
        }
        if (!controllerUp) throw new Error('the controller is not running: the NodeENIs keep their finalizer');
        const left = await this.waitGone(this.applied, 120000);
        if (left.length) throw new Error(`still present after 120s: ${left.join(', ')} (see ${this.controllerLog})`);
        this.say(`cleanup: ${this.applied.length} NodeENIs deleted`);
      });
      await step('release ENIs', async () => {
        const deadline = Date.now() + 30000;
        const all = [...this.nodes, ...this.gateNodes];
        let enis = await this.enis(all);
        while (enis.length && Date.now() < deadline) {
          await sleep(500);
          enis = await this.enis(all);
        }
        if (enis.length) throw new Error(`ENIs still in EC2: ${enis.map((e) => e.NetworkInterfaceId).join(', ')}`);
        this.say('cleanup: no ENI of the demo left in EC2');
      });
    }
    if (this.nodeObjects.length) {
      await step('delete Nodes', async () => {
        for (const name of this.nodeObjects) await this.core!.deleteNode({ name }).catch((e: { code?: number }) => {
          if (e.code !== 404) throw e;
        });
        this.say(`cleanup: Node objects deleted: ${this.nodeObjects.join(', ')}`);
      });
    }
    if (this.state && this.controller) {
      // Retired while the controller still runs: a sweep the schedule fired just before is finished by the controller
      // (or terminated after a bound), so no run of the demo's task queue outlives the demo.
      await step('delete the fleet sweep schedule', async () => {
        const connection = await Connection.connect({ address: this.state!.temporal.address });
        try {
          const client = new Client({ connection, namespace: this.state!.temporal.namespace });
          const handle = client.schedule.getHandle(this.fleetScheduleId);
          let running: string[] = [];
          try {
            await handle.pause('demo cleanup');
            running = (await handle.describe()).info.runningActions.map((a) => a.workflow.workflowId);
            await handle.delete();
          } catch (e) {
            if (!(e instanceof ScheduleNotFoundError)) throw e;
          }
          for (const workflowId of running) {
            const wf = client.workflow.getHandle(workflowId);
            let timer: NodeJS.Timeout | undefined;
            const bound = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), controllerUp ? 60000 : 0)));
            const done = await Promise.race([wf.result().then(() => true, () => true), bound]);
            clearTimeout(timer);
            if (!done) {
              await wf.terminate('demo cleanup: the fleet sweep did not finish').catch(() => undefined);
              this.say(`cleanup: fleet sweep ${workflowId} terminated`);
            }
          }
        } finally {
          await connection.close();
        }
      });
    }
    if (this.controller?.pid) {
      const pid = this.controller.pid;
      await step('stop the controller', async () => {
        await stopChild(this.controller!);
        this.say(`cleanup: controller pid ${pid} stopped`);
      });
    }
    for (const n of [...this.nodes, ...this.gateNodes]) {
      await step(`stop simulated node ${n.name}`, async () => {
        try {
          await n.sim.stop();
        } finally {
          // Whatever happened to its agent, the node's namespace and sysfs tree go.
          await n.sim.netns.destroy();
          fs.rmSync(n.sim.dir, { recursive: true, force: true });
        }
        this.say(`cleanup: simulated node ${n.name} stopped, netns ${n.sim.netns.name} deleted`);
      });
    }
    if (this.connection) await step('close the Temporal connection', () => this.connection!.close());
    if (this.instances.length) {
      await step('terminate instances', async () => {
        await this.ec2!.send(new TerminateInstancesCommand({ InstanceIds: this.instances.map((i) => i.id) }));
        this.say(`cleanup: instances terminated: ${this.instances.map((i) => i.id).join(', ')}`);
      });
    }
    this.ec2?.destroy();
    if (this.startedStack && !this.args.keepStack) {
      await step('stop the stack', () => stopStack((l) => this.say(`stack: ${l}`)));
    } else if (this.state) {
      this.say(`the local stack keeps running (${this.startedStack ? '--keep-stack' : 'it was running before the demo'}); \`npm run stack:down\` stops it`);
    }
    if (problems.length) throw new Error(`cleanup incomplete:\n  ${problems.join('\n  ')}`);
  }
}

function tagOf(e: NetworkInterface, key: string): string {
  return e.TagSet?.find((t) => t.Key === key)?.Value ?? '';
}

function tailOf(file: string, lines = 20): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** SIGTERM to the child's PID, SIGKILL after 15 s; resolves once it has exited. */
async function stopChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null || !c.pid) return;
  const exited = new Promise((r) => c.once('exit', r));
  c.kill('SIGTERM');
  const timer = setTimeout(() => c.kill('SIGKILL'), 15000);
  await exited;
  clearTimeout(timer);
  if (isAlive(c.pid)) throw new Error(`pid ${c.pid} still alive`);
}
