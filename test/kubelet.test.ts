// The chart on a real kubelet: a single-node cluster on the local stack (dev/kubelet: containerd and runc from
// Debian, kubelet, kube-scheduler and kube-controller-manager built from Go modules), the project's image imported
// into containerd, `helm install` of helm/multi-eni-controller. The controller Deployment and the node agent
// DaemonSet run from the image as the chart runs them; a NodeENI converges through them and is released.
//
// The node's ENIs are emulated as on the simulated nodes (dev/stack/sim): when EC2 shows an ENI attached to the
// node's instance, a link with its MAC appears in a network namespace of this test's own and its device in a sysfs
// tree in a temp dir. The agent pod is pointed there by chart values (nodeAgent.netns, nodeAgent.hostPaths), so
// it never touches the host's interfaces.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DescribeNetworkInterfacesCommand } from '@aws-sdk/client-ec2';
import type { V1Pod } from '@kubernetes/client-node';
import { REPO_ROOT, TOOLS_BIN } from '../dev/stack/paths.js';
import { runInstances } from '../dev/stack/seed.js';
import { SimulatedNode } from '../dev/stack/sim/simulated-node.js';
import { ctr, importImage, nodePorts, startKubeletNode, stopKubeletNode, type KubeletNodeState } from '../dev/kubelet/node.js';
import { API_GROUP, API_VERSION, NODEENI_PLURAL, TAG_CLUSTER } from '../common/names.js';
import type { NodeENI } from '../common/nodeeni.js';
import { seedManifest } from '../dev/demo/manifests.js';
import { eventually, kubeClients, motoEc2, stack, temporalClient, uniq } from './support/env.js';

const IMAGE = 'localhost/multi-eni-controller:dev';
/** The kubelet is built at the kube-apiserver's version (dev/kubelet/install.sh reads it from dev/stack/install.sh). */
const K8S_VERSION = /^K8S_VERSION="([0-9.]+)"/m.exec(fs.readFileSync(path.join(REPO_ROOT, 'dev', 'stack', 'install.sh'), 'utf8'))?.[1];

function exec(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env: { ...process.env, ...opts.env }, cwd: opts.cwd ?? REPO_ROOT, maxBuffer: 64 * 1024 * 1024, timeout: opts.timeoutMs ?? 120000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stderr}`)) : resolve({ stdout, stderr }),
    );
  });
}

/**
 * The image tarball from dev/image/build.sh (cached by its inputs: a second build builds nothing). Its last line of
 * stdout is the tarball. MULTI_ENI_IMAGE_BUILD names another copy of the script (a checkout where it lives).
 */
async function buildImage(): Promise<string> {
  const script = process.env.MULTI_ENI_IMAGE_BUILD ?? path.join(REPO_ROOT, 'dev', 'image', 'build.sh');
  if (!fs.existsSync(script)) throw new Error(`no image build script at ${script}`);
  const { stdout } = await exec('bash', [script], { cwd: path.dirname(script), timeoutMs: 40 * 60000 });
  const tarball = stdout.trim().split('\n').pop() ?? '';
  if (!fs.existsSync(tarball)) throw new Error(`${script} printed no tarball: ${stdout}`);
  return tarball;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

describe('the chart on a real kubelet: controller Deployment and node agent DaemonSet from the image; a NodeENI converges through them', () => {
  const runId = uniq('kubelet');
  const release = 'mec';
  const namespace = runId;
  const nodeName = `${runId}-node`;
  const taskQueue = `multi-eni-controller-${runId}`;
  const scheduleId = `fleet-${runId}`;
  const ec2 = motoEc2();
  const k = kubeClients();
  let instanceId = '';
  let node: KubeletNodeState | undefined;
  let sim: SimulatedNode | undefined;
  let helmInstalled = false;
  let helmStarted = 0;
  /** When the NodeENI was first seen Ready: polled from the helm install on, beside the other checks. */
  let nodeENIReady: Promise<number> | undefined;
  const kubectl = (args: string[]) => exec(path.join(TOOLS_BIN, 'kubectl'), args, { env: { KUBECONFIG: stack().kube.kubeconfig } });
  const helm = (args: string[]) => exec(path.join(TOOLS_BIN, 'helm'), args, { env: { KUBECONFIG: stack().kube.kubeconfig } });

  const nodeENI = (): NodeENI => {
    const o = seedManifest('jumbo-frames.yaml');
    return {
      ...o,
      metadata: { name: `${runId}-jumbo`, labels: { 'test-run': runId } },
      spec: { ...o.spec, nodeSelector: { ng: runId } },
    };
  };
  const getNodeENI = async (name: string): Promise<NodeENI | undefined> => {
    try {
      return (await k.custom.getClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODEENI_PLURAL, name })) as NodeENI;
    } catch (e) {
      if ((e as { code?: number }).code === 404) return undefined;
      throw e;
    }
  };
  const pods = async (component: string): Promise<V1Pod[]> =>
    (await k.core.listNamespacedPod({ namespace, labelSelector: `app.kubernetes.io/component=${component}` })).items;
  const podReady = (p: V1Pod) => p.status?.phase === 'Running' && (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
  const podSummary = async () =>
    (await k.core.listNamespacedPod({ namespace })).items
      .map((p) => `${p.metadata?.name} ${p.status?.phase} ${JSON.stringify(p.status?.containerStatuses?.map((c) => c.state) ?? p.status?.conditions)}`)
      .join('\n');

  beforeAll(async () => {
    const s = stack();
    const ports = nodePorts();
    // The image first: the longest step when its inputs changed, the same tarball otherwise.
    const tarball = await buildImage();
    const [inst] = await runInstances(ec2, s.seed, 1, 'us-east-1a', undefined, runId);
    if (!inst) throw new Error('no instance');
    instanceId = inst.id;
    // The node's hardware: ENIs attached to the instance appear in the namespace and sysfs tree (no agent here:
    // the agent is the DaemonSet's pod).
    sim = await SimulatedNode.start({ name: nodeName, instanceId, ec2, temporal: s.temporal, agent: false });
    fs.mkdirSync(path.join(sim.dir, 'state'), { recursive: true });
    fs.mkdirSync(path.dirname(sim.pcidpConfigPath), { recursive: true });
    node = await startKubeletNode({ stack: s, name: nodeName, providerID: `aws:///${inst.az}/${inst.id}`, labels: { ng: runId }, ports });
    const t = Date.now();
    expect(await importImage(node, tarball)).toContain(IMAGE);
    console.log(`[kubelet] node up; image imported into containerd in ${seconds(Date.now() - t)}`);

    // The NodeENI exists before the controller: "pod start to NodeENI Ready" is then the controller's whole path.
    await k.custom.createClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODEENI_PLURAL, body: nodeENI() });

    const kubernetesEnv = [
      // No kube-proxy on this node: the `kubernetes` Service's ClusterIP leads nowhere, so the in-cluster config
      // is pointed at the apiserver itself (container env overrides the kubelet's service variables).
      { name: 'KUBERNETES_SERVICE_HOST', value: '127.0.0.1' },
      { name: 'KUBERNETES_SERVICE_PORT', value: String(s.ports.apiserver) },
    ];
    const values = {
      clusterName: runId,
      image: { repository: IMAGE.split(':')[0], tag: 'dev', pullPolicy: 'Never' },
      aws: { region: s.ec2.region, ec2Endpoint: s.ec2.endpoint },
      temporalConnection: { address: s.temporal.address, namespace: s.temporal.namespace },
      controller: {
        replicas: 1,
        hostNetwork: true,
        taskQueue,
        fleetScheduleId: scheduleId,
        nodeENISelector: `test-run=${runId}`,
        pollMs: 300,
        metrics: { port: ports.controllerMetrics },
        resources: { requests: { cpu: '50m', memory: '256Mi' }, limits: { memory: '768Mi' } },
        extraEnv: [...kubernetesEnv, { name: 'AWS_ACCESS_KEY_ID', value: 'testing' }, { name: 'AWS_SECRET_ACCESS_KEY', value: 'testing' }],
      },
      nodeAgent: {
        nodeSelector: { ng: runId },
        netns: sim.netns.name,
        hostPaths: { sys: sim.sysRoot, pcidpDir: path.dirname(sim.pcidpConfigPath), stateDir: path.join(sim.dir, 'state') },
        // The emulated node has no instance metadata service.
        imdsEndpoint: 'off',
        health: { port: ports.nodeAgentHealth },
        extraEnv: kubernetesEnv,
      },
    };
    const valuesFile = path.join(node.dir, 'values.json');
    fs.writeFileSync(valuesFile, JSON.stringify(values, null, 2));
    helmStarted = Date.now();
    await helm(['install', release, path.join(REPO_ROOT, 'helm', 'multi-eni-controller'), '--namespace', namespace, '--create-namespace', '-f', valuesFile]);
    helmInstalled = true;
    const name = nodeENI().metadata.name;
    nodeENIReady = eventually(
      `${name} Ready`,
      async () => {
        const a = (await getNodeENI(name))?.status?.attachments ?? [];
        return a.length === 1 && a[0]!.phase === 'Ready' ? Date.now() : false;
      },
      240000,
      200,
    );
    nodeENIReady.catch(() => undefined); // awaited (and its failure reported) by the test
  }, 45 * 60000);

  afterAll(async () => {
    const name = `${runId}-jumbo`;
    await k.custom.deleteClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODEENI_PLURAL, name }).catch(() => undefined);
    // The pods' logs, kept in the stack's logs before the pods (and their log files) go.
    if (node) fs.cpSync(path.join(node.dir, 'pod-logs'), path.join(stack().dir, 'logs', `kubelet-${nodeName}`, 'pod-logs'), { recursive: true });
    if (helmInstalled) {
      // The controller releases the ENI before it goes.
      await eventually(`${name} gone`, async () => (await getNodeENI(name)) === undefined, 90000).catch(() => undefined);
      await helm(['uninstall', release, '--namespace', namespace, '--wait', '--timeout', '120s']).catch(() => undefined);
      await eventually('release pods gone', async () => (await k.core.listNamespacedPod({ namespace })).items.length === 0, 120000).catch(() => undefined);
      // Finished by the controller-manager's namespace controller: waited for while it still runs.
      await kubectl(['delete', 'namespace', namespace, '--timeout=90s']).catch(() => undefined);
    }
    if (node) await stopKubeletNode(node, { stack: stack() });
    await sim?.stop();
    const { client, connection } = await temporalClient();
    await client.schedule.getHandle(scheduleId).delete().catch(() => undefined);
    await connection.close();
    ec2.destroy();
  }, 420000);

  it('the Node is the kubelet`s: registered with the providerID of its instance, Ready, on cgroup v1', async () => {
    const n = await k.core.readNode({ name: nodeName });
    expect(n.spec?.providerID).toBe(`aws:///us-east-1a/${instanceId}`);
    expect(n.metadata?.labels).toMatchObject({ ng: runId, 'kubernetes.io/hostname': nodeName });
    expect(n.status?.nodeInfo?.containerRuntimeVersion).toMatch(/^containerd:\/\/1\./);
    expect(n.status?.nodeInfo?.kubeletVersion).toBe(`v${K8S_VERSION}`);
    expect((n.status?.conditions ?? []).find((c) => c.type === 'Ready')?.status).toBe('True');
    const events = await k.core.listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${nodeName},reason=CgroupV1` });
    expect(events.items.length).toBeGreaterThan(0);
  });

  it('helm install: the controller Deployment and the node agent DaemonSet run from the image, Running and ready', async () => {
    const { controller, agent } = await eventually(
      'controller and node agent pods ready',
      async () => {
        const [c, a] = [await pods('controller'), await pods('node-agent')];
        return c.length === 1 && a.length === 1 && podReady(c[0]!) && podReady(a[0]!) ? { controller: c[0]!, agent: a[0]! } : false;
      },
      240000,
      500,
    ).catch(async (e: Error) => {
      throw new Error(`${e.message}\n${await podSummary()}`);
    });
    const readyAt = Date.now();
    for (const p of [controller, agent]) {
      expect(p.spec?.nodeName).toBe(nodeName);
      expect(p.spec?.containers[0]?.image).toBe(IMAGE);
      expect(p.status?.containerStatuses?.[0]?.restartCount).toBe(0);
    }
    // As the chart runs them: the controller as uid 1000 with a read-only root and no capabilities; the agent as
    // root with NET_ADMIN (and SYS_ADMIN, only for entering the test's namespace).
    expect(controller.spec?.securityContext?.runAsUser).toBe(1000);
    expect(controller.spec?.containers[0]?.securityContext).toMatchObject({ readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(agent.spec?.containers[0]?.securityContext).toMatchObject({ runAsUser: 0, readOnlyRootFilesystem: true, privileged: false, capabilities: { add: ['NET_ADMIN', 'SYS_ADMIN'] } });
    // The processes run in containerd's containers: their images are the imported one.
    const containers = await ctr(node!, ['containers', 'list']);
    expect(containers.split('\n').filter((l) => l.includes(IMAGE)).length).toBe(2);
    console.log(`[kubelet] helm install to both pods ready: ${seconds(readyAt - helmStarted)}`);
  }, 300000);

  it('the NodeENI converges through the pods: ENI created and attached in EC2, its link configured in the node`s namespace by the agent pod, Ready', async () => {
    const name = `${runId}-jumbo`;
    if (!nodeENIReady) throw new Error('helm install did not run');
    const readyAt = await nodeENIReady.catch(async (e: Error) => {
      throw new Error(`${e.message}\n${await podSummary()}\n${JSON.stringify((await getNodeENI(name))?.status)}`);
    });
    const att = (await getNodeENI(name))!.status!.attachments![0]!;
    expect(att.phase).toBe('Ready');
    expect(att).toMatchObject({ nodeID: nodeName, instanceID: instanceId, mtu: 9001, deviceIndex: 2, interfaceName: 'eth2' });
    // In EC2: the ENI carries the cluster's tag and is attached to the node's instance.
    const r = await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [att.eniID!] }));
    const eni = r.NetworkInterfaces?.[0];
    expect(eni?.Attachment).toMatchObject({ InstanceId: instanceId, DeviceIndex: 2, Status: 'attached' });
    expect(eni?.TagSet).toEqual(expect.arrayContaining([{ Key: TAG_CLUSTER, Value: runId }]));
    // On the node: the agent pod set the MTU and brought the link up, in the test's namespace.
    const link = (await sim!.links()).find((l) => l.ifname === 'eth2');
    expect(link).toMatchObject({ mtu: 9001, address: eni?.MacAddress });
    expect(link?.flags).toContain('UP');
    // The work was the pods': the controller pod's workflow on this release's task queue, and the agent pod's log.
    const { client, connection } = await temporalClient();
    const wf = await client.workflow.getHandle(`nodeeni/${name}/${nodeName}`).describe();
    await connection.close();
    expect(wf.taskQueue).toBe(taskQueue);
    // (Read from the kubelet's pod log files: the kubelet serves on loopback only, out of the apiserver's reach.)
    const [agent] = await pods('node-agent');
    const logDir = path.join(node!.dir, 'pod-logs', `${namespace}_${agent!.metadata!.name!}_${agent!.metadata!.uid!}`, 'node-agent');
    const log = fs.readdirSync(logDir).map((f) => fs.readFileSync(path.join(logDir, f), 'utf8')).join('');
    expect(log).toContain(att.eniID!);

    // Pod start: the kubelet's startedAt of each container (1 s resolution).
    const startedAt = async (component: string) => {
      const [p] = await pods(component);
      const t = p?.status?.containerStatuses?.[0]?.state?.running?.startedAt;
      return t ? new Date(t).getTime() : NaN;
    };
    const [controllerStarted, agentStarted] = [await startedAt('controller'), await startedAt('node-agent')];
    console.log(
      `[kubelet] helm install → NodeENI Ready: ${seconds(readyAt - helmStarted)}; controller container started → Ready: ${seconds(readyAt - controllerStarted)}; ` +
        `node agent container started → Ready: ${seconds(readyAt - agentStarted)} (startedAt has 1 s resolution)`,
    );
    expect(readyAt).toBeGreaterThan(Math.max(controllerStarted, agentStarted));
  }, 240000);

  it('deleting the NodeENI: the pods detach and delete the ENI and the link leaves the namespace', async () => {
    const name = `${runId}-jumbo`;
    const eniId = (await getNodeENI(name))!.status!.attachments![0]!.eniID!;
    await k.custom.deleteClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODEENI_PLURAL, name });
    await eventually(`${name} gone`, async () => (await getNodeENI(name)) === undefined, 120000);
    const r = await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'network-interface-id', Values: [eniId] }] }));
    expect(r.NetworkInterfaces ?? []).toEqual([]);
    await eventually('eth2 gone from the node namespace', async () => !(await sim!.links()).some((l) => l.ifname === 'eth2'), 30000);
  }, 180000);
});
