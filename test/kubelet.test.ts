// The chart on a real kubelet: a single-node cluster on the local stack (dev/kubelet: containerd and runc from
// Debian, kubelet, kube-scheduler and kube-controller-manager built from Go modules), the project's image imported
// into containerd, `helm install` of helm/multi-eni-controller. The controller Deployment and the node agent
// DaemonSet run from the image as the chart runs them; a NodeENI converges through them and is released.
//
// The node's ENIs are emulated as on the simulated nodes (dev/stack/sim): when EC2 shows an ENI attached to the
// node's instance, a link with its MAC appears in a network namespace of this test's own and its device in a sysfs
// tree in a temp dir. The agent pod is pointed there by chart values (nodeAgent.netns, nodeAgent.hostPaths), so
// it never touches the host's interfaces.
import fs from 'node:fs';
import path from 'node:path';
import { DescribeNetworkInterfacesCommand } from '@aws-sdk/client-ec2';
import { REPO_ROOT } from '../dev/stack/paths.js';
import { ctr } from '../dev/kubelet/node.js';
import { API_GROUP, API_VERSION, NODEENI_PLURAL, TAG_CLUSTER } from '../common/names.js';
import type { NodeENI } from '../common/nodeeni.js';
import { seedManifest } from '../dev/demo/manifests.js';
import { eventually, kubeClients, motoEc2, stack, temporalClient, uniq } from './support/env.js';
import { IMAGE, buildImages, containerStartedAt, controllerChartValues, podReady, podSummary, podsOf, seconds, startChartNode, type ChartNode } from './support/kubelet.js';

/** The kubelet is built at the kube-apiserver's version (dev/kubelet/install.sh reads it from dev/stack/install.sh). */
const K8S_VERSION = /^K8S_VERSION="([0-9.]+)"/m.exec(fs.readFileSync(path.join(REPO_ROOT, 'dev', 'stack', 'install.sh'), 'utf8'))?.[1];

describe('the chart on a real kubelet: controller Deployment and node agent DaemonSet from the image; a NodeENI converges through them', () => {
  const runId = uniq('kubelet');
  const release = 'mec';
  const namespace = runId;
  const nodeName = `${runId}-node`;
  const taskQueue = `multi-eni-controller-${runId}`;
  const scheduleId = `fleet-${runId}`;
  const ec2 = motoEc2();
  const k = kubeClients();
  let n: ChartNode | undefined;
  let helmInstalled = false;
  let helmStarted = 0;
  /** When the NodeENI was first seen Ready: polled from the helm install on, beside the other checks. */
  let nodeENIReady: Promise<number> | undefined;

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
  const pods = (component: string) => podsOf(namespace, component);

  beforeAll(async () => {
    const s = stack();
    // The image first: the longest step when its inputs changed, the same tarball otherwise.
    n = await startChartNode(runId, [await buildImages('build.sh')]);
    expect(await ctr(n.node, ['images', 'list', '-q'])).toContain(IMAGE);
    // The NodeENI exists before the controller: "pod start to NodeENI Ready" is then the controller's whole path.
    await k.custom.createClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODEENI_PLURAL, body: nodeENI() });
    const values = { ...controllerChartValues(n, { runId, taskQueue, scheduleId }), temporalConnection: { address: s.temporal.address, namespace: s.temporal.namespace } };
    const valuesFile = path.join(n.node.dir, 'values.json');
    fs.writeFileSync(valuesFile, JSON.stringify(values, null, 2));
    helmStarted = Date.now();
    await n.helm(['install', release, path.join(REPO_ROOT, 'helm', 'multi-eni-controller'), '--namespace', namespace, '--create-namespace', '-f', valuesFile]);
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
    if (n && helmInstalled) {
      // The controller releases the ENI before it goes.
      await eventually(`${name} gone`, async () => (await getNodeENI(name)) === undefined, 90000).catch(() => undefined);
      await n.helm(['uninstall', release, '--namespace', namespace, '--wait', '--timeout', '120s']).catch(() => undefined);
      await eventually('release pods gone', async () => (await k.core.listNamespacedPod({ namespace })).items.length === 0, 120000).catch(() => undefined);
      // Finished by the controller-manager's namespace controller: waited for while it still runs.
      await n.kubectl(['delete', 'namespace', namespace, '--timeout=90s']).catch(() => undefined);
    }
    await n?.stop();
    const { client, connection } = await temporalClient();
    await client.schedule.getHandle(scheduleId).delete().catch(() => undefined);
    await connection.close();
    ec2.destroy();
  }, 420000);

  it('the Node is the kubelet`s: registered with the providerID of its instance, Ready, on cgroup v1', async () => {
    const node = await k.core.readNode({ name: nodeName });
    expect(node.spec?.providerID).toBe(`aws:///us-east-1a/${n!.instanceId}`);
    expect(node.metadata?.labels).toMatchObject({ ng: runId, 'kubernetes.io/hostname': nodeName });
    expect(node.status?.nodeInfo?.containerRuntimeVersion).toMatch(/^containerd:\/\/1\./);
    expect(node.status?.nodeInfo?.kubeletVersion).toBe(`v${K8S_VERSION}`);
    expect((node.status?.conditions ?? []).find((c) => c.type === 'Ready')?.status).toBe('True');
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
      throw new Error(`${e.message}\n${await podSummary(namespace)}`);
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
    const containers = await ctr(n!.node, ['containers', 'list']);
    expect(containers.split('\n').filter((l) => l.includes(IMAGE)).length).toBe(2);
    console.log(`[kubelet] helm install to both pods ready: ${seconds(readyAt - helmStarted)}`);
  }, 300000);

  it('the NodeENI converges through the pods: ENI created and attached in EC2, its link configured in the node`s namespace by the agent pod, Ready', async () => {
    const name = `${runId}-jumbo`;
    if (!nodeENIReady) throw new Error('helm install did not run');
    const readyAt = await nodeENIReady.catch(async (e: Error) => {
      throw new Error(`${e.message}\n${await podSummary(namespace)}\n${JSON.stringify((await getNodeENI(name))?.status)}`);
    });
    const att = (await getNodeENI(name))!.status!.attachments![0]!;
    expect(att.phase).toBe('Ready');
    expect(att).toMatchObject({ nodeID: nodeName, instanceID: n!.instanceId, mtu: 9001, deviceIndex: 2, interfaceName: 'eth2' });
    // In EC2: the ENI carries the cluster's tag and is attached to the node's instance.
    const r = await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [att.eniID!] }));
    const eni = r.NetworkInterfaces?.[0];
    expect(eni?.Attachment).toMatchObject({ InstanceId: n!.instanceId, DeviceIndex: 2, Status: 'attached' });
    expect(eni?.TagSet).toEqual(expect.arrayContaining([{ Key: TAG_CLUSTER, Value: runId }]));
    // On the node: the agent pod set the MTU and brought the link up, in the test's namespace.
    const link = (await n!.sim.links()).find((l) => l.ifname === 'eth2');
    expect(link).toMatchObject({ mtu: 9001, address: eni?.MacAddress });
    expect(link?.flags).toContain('UP');
    // The work was the pods': the controller pod's workflow on this release's task queue, and the agent pod's log.
    const { client, connection } = await temporalClient();
    const wf = await client.workflow.getHandle(`nodeeni/${name}/${nodeName}`).describe();
    await connection.close();
    expect(wf.taskQueue).toBe(taskQueue);
    // (Read from the kubelet's pod log files: the kubelet serves on loopback only, out of the apiserver's reach.)
    const [agent] = await pods('node-agent');
    const logDir = path.join(n!.node.dir, 'pod-logs', `${namespace}_${agent!.metadata!.name!}_${agent!.metadata!.uid!}`, 'node-agent');
    const log = fs.readdirSync(logDir).map((f) => fs.readFileSync(path.join(logDir, f), 'utf8')).join('');
    expect(log).toContain(att.eniID!);

    // Pod start: the kubelet's startedAt of each container (1 s resolution).
    const startedAt = async (component: string) => containerStartedAt((await pods(component))[0]);
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
    await eventually('eth2 gone from the node namespace', async () => !(await n!.sim.links()).some((l) => l.ifname === 'eth2'), 30000);
  }, 180000);
});
