// What the tests on a real kubelet share (test/kubelet.test.ts, test/kubelet-temporal.test.ts): the images from
// dev/image, a single-node cluster (dev/kubelet) for a new instance in the EC2 emulator with the node's ENIs emulated
// as on the simulated nodes, the chart values that point the controller and the node agent at it, and pod checks.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { REPO_ROOT, TOOLS_BIN } from '../../dev/stack/paths.js';
import { runInstances } from '../../dev/stack/seed.js';
import { SimulatedNode } from '../../dev/stack/sim/simulated-node.js';
import { importImage, nodePorts, startKubeletNode, stopKubeletNode, type KubeletNodeState, type NodePorts } from '../../dev/kubelet/node.js';
import type { StackState } from '../../dev/stack/stack.js';
import { kubeClients, motoEc2, stack } from './env.js';

export const IMAGE = 'localhost/multi-eni-controller:dev';

export function exec(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env: { ...process.env, ...opts.env }, cwd: opts.cwd ?? REPO_ROOT, maxBuffer: 64 * 1024 * 1024, timeout: opts.timeoutMs ?? 120000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stderr}`)) : resolve({ stdout, stderr }),
    );
  });
}

/**
 * An image tarball from a dev/image script (cached by its inputs: a second build builds nothing); its last line of
 * stdout is the tarball. MULTI_ENI_IMAGE_BUILD names another copy of build.sh (a checkout where it lives).
 */
export async function buildImages(script: 'build.sh' | 'temporal.sh'): Promise<string> {
  const file = (script === 'build.sh' && process.env.MULTI_ENI_IMAGE_BUILD) || path.join(REPO_ROOT, 'dev', 'image', script);
  if (!fs.existsSync(file)) throw new Error(`no image build script at ${file}`);
  const { stdout } = await exec('bash', [file], { cwd: path.dirname(file), timeoutMs: 40 * 60000 });
  const tarball = stdout.trim().split('\n').pop() ?? '';
  if (!fs.existsSync(tarball)) throw new Error(`${file} printed no tarball: ${stdout}`);
  return tarball;
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The node of a test: its instance, the kubelet, and the emulated hardware the agent pod is pointed at. */
export interface ChartNode {
  name: string;
  instanceId: string;
  az: string;
  node: KubeletNodeState;
  sim: SimulatedNode;
  ports: NodePorts;
  /** helm and kubectl against the stack's apiserver. */
  helm: (args: string[]) => Promise<{ stdout: string; stderr: string }>;
  kubectl: (args: string[]) => Promise<{ stdout: string; stderr: string }>;
  /** Copies the pods' log files into the stack's logs (the kubelet removes them with their pods). */
  keepPodLogs: () => void;
  stop: () => Promise<void>;
}

/**
 * A kubelet node for a new instance (labelled ng=<runId>), with these image tarballs imported into its containerd.
 * The ENIs EC2 attaches to the instance appear in a network namespace and sysfs tree of the test's own (a
 * SimulatedNode without an agent: the agent is the DaemonSet's pod).
 */
export async function startChartNode(runId: string, tarballs: string[], log: (l: string) => void = console.log): Promise<ChartNode> {
  const s = stack();
  const ec2 = motoEc2();
  const ports = nodePorts();
  const name = `${runId}-node`;
  try {
    const [inst] = await runInstances(ec2, s.seed, 1, 'us-east-1a', undefined, runId);
    if (!inst) throw new Error('no instance');
    const sim = await SimulatedNode.start({ name, instanceId: inst.id, ec2, temporal: s.temporal, agent: false });
    fs.mkdirSync(path.join(sim.dir, 'state'), { recursive: true });
    fs.mkdirSync(path.dirname(sim.pcidpConfigPath), { recursive: true });
    const node = await startKubeletNode({ stack: s, name, providerID: `aws:///${inst.az}/${inst.id}`, labels: { ng: runId }, ports });
    const t = Date.now();
    for (const tarball of tarballs) await importImage(node, tarball);
    log(`[kubelet] node up; ${tarballs.length} image archive(s) imported into containerd in ${seconds(Date.now() - t)}`);
    const env = { KUBECONFIG: s.kube.kubeconfig };
    const keepPodLogs = () => fs.cpSync(path.join(node.dir, 'pod-logs'), path.join(s.dir, 'logs', `kubelet-${name}`, 'pod-logs'), { recursive: true });
    return {
      name,
      instanceId: inst.id,
      az: inst.az,
      node,
      sim,
      ports,
      helm: (args) => exec(path.join(TOOLS_BIN, 'helm'), args, { env, timeoutMs: 15 * 60000 }),
      kubectl: (args) => exec(path.join(TOOLS_BIN, 'kubectl'), args, { env }),
      keepPodLogs,
      stop: async () => {
        keepPodLogs();
        await stopKubeletNode(node, { stack: s });
        await sim.stop();
        ec2.destroy();
      },
    };
  } catch (e) {
    ec2.destroy();
    throw e;
  }
}

/** No kube-proxy on this node: the `kubernetes` Service's ClusterIP leads nowhere, so in-cluster clients are pointed at the apiserver itself. */
export function apiserverEnv(s: StackState = stack()): { name: string; value: string }[] {
  return [
    { name: 'KUBERNETES_SERVICE_HOST', value: '127.0.0.1' },
    { name: 'KUBERNETES_SERVICE_PORT', value: String(s.ports.apiserver) },
  ];
}

/** The controller chart's values for this node: the image, the emulator, host network, and the agent pointed at the emulated hardware. */
export function controllerChartValues(n: ChartNode, o: { runId: string; taskQueue: string; scheduleId: string }): Record<string, unknown> {
  const s = stack();
  return {
    clusterName: o.runId,
    image: { repository: IMAGE.split(':')[0], tag: 'dev', pullPolicy: 'Never' },
    aws: { region: s.ec2.region, ec2Endpoint: s.ec2.endpoint },
    controller: {
      replicas: 1,
      hostNetwork: true,
      taskQueue: o.taskQueue,
      fleetScheduleId: o.scheduleId,
      nodeENISelector: `test-run=${o.runId}`,
      pollMs: 300,
      metrics: { port: n.ports.controllerMetrics },
      resources: { requests: { cpu: '50m', memory: '256Mi' }, limits: { memory: '768Mi' } },
      extraEnv: [...apiserverEnv(s), { name: 'AWS_ACCESS_KEY_ID', value: 'testing' }, { name: 'AWS_SECRET_ACCESS_KEY', value: 'testing' }],
    },
    nodeAgent: {
      nodeSelector: { ng: o.runId },
      netns: n.sim.netns.name,
      hostPaths: { sys: n.sim.sysRoot, pcidpDir: path.dirname(n.sim.pcidpConfigPath), stateDir: path.join(n.sim.dir, 'state') },
      // The emulated node has no instance metadata service.
      imdsEndpoint: 'off',
      health: { port: n.ports.nodeAgentHealth },
      extraEnv: apiserverEnv(s),
    },
  };
}

export async function podsOf(namespace: string, component: string): Promise<V1Pod[]> {
  return (await kubeClients().core.listNamespacedPod({ namespace, labelSelector: `app.kubernetes.io/component=${component}` })).items;
}

export const podReady = (p: V1Pod) => p.status?.phase === 'Running' && (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

export async function podSummary(namespace: string): Promise<string> {
  return (await kubeClients().core.listNamespacedPod({ namespace })).items
    .map((p) => `${p.metadata?.name} ${p.status?.phase} ${JSON.stringify(p.status?.containerStatuses?.map((c) => ({ restarts: c.restartCount, state: c.state })) ?? p.status?.conditions)}`)
    .join('\n');
}

/** The container's start, as the kubelet reports it (1 s resolution). */
export function containerStartedAt(p: V1Pod | undefined): number {
  const t = p?.status?.containerStatuses?.[0]?.state?.running?.startedAt;
  return t ? new Date(t).getTime() : NaN;
}
