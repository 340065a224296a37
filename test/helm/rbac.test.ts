// The chart's RBAC on the real kube-apiserver (RBAC mode): applied for real in a namespace of its own, with
// tokens minted for the chart's ServiceAccounts. Sufficient: the real controller process, holding nothing but
// its ServiceAccount's token, takes a NodeENI on a simulated node to Ready (finalizer, status, Events, Lease)
// and deletes everything again; the node agent's token restarts the device plugin pod on its node with the
// agent's own code. And no more: requests outside those rights are Forbidden, and the apiserver's own
// SelfSubjectRulesReview lists nothing beyond the rules the chart renders.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiException, AuthorizationV1Api, CoordinationV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { kubeconfigYaml } from '../../dev/stack/certs.js';
import { readState, type StackState } from '../../dev/stack/stack.js';
import { API_GROUP, API_VERSION, NODEENI_FINALIZER, NODEENI_KIND } from '../../common/names.js';
import type { NodeENI } from '../../common/nodeeni.js';
import { kubeDevicePluginRestarter } from '../../node-agent/device-plugin.js';
import { TestCluster } from '../support/cluster.js';
import { eventually } from '../support/env.js';
import { find, kubectl, manifestsYaml, offlineCopy, removeNamespace, render, type K8sObject } from './support.js';

const T = 240000;
const suffix = randomBytes(3).toString('hex');
const RELEASE = `rbac-${suffix}`;
const NS = `helm-rbac-${suffix}`;
const DP_NS = `helm-rbac-dp-${suffix}`;
const LEASE = 'multi-eni-watcher';
const CONTROLLER_SA = `${RELEASE}-multi-eni-controller-controller`;
const AGENT_SA = `${RELEASE}-multi-eni-controller-node-agent`;

let state: StackState;
let offline: string;
let dir: string;
let rbacObjects: K8sObject[] = [];
let admin: string;
let controllerKubeconfig: string;
let agentKubeconfig: string;
let cluster: TestCluster | undefined;

function kubeConfigFile(file: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return kc;
}

async function mustKubectl(kubeconfig: string, args: string[], input?: string): Promise<string> {
  const r = await kubectl(kubeconfig, args, input === undefined ? {} : { input });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function tokenKubeconfig(sa: string): Promise<string> {
  const token = (await mustKubectl(admin, ['create', 'token', sa, '-n', NS, '--duration=2h'])).trim();
  const file = path.join(dir, `${sa}.kubeconfig`);
  fs.writeFileSync(file, kubeconfigYaml(state.kube.server, state.kube.pki.caCert, { token }), { mode: 0o600 });
  return file;
}

beforeAll(async () => {
  const s = readState();
  if (!s) throw new Error('no local stack state: the integration global setup should have started it');
  state = s;
  admin = s.kube.kubeconfig;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'helm-rbac-'));
  offline = offlineCopy();
  await mustKubectl(admin, ['create', 'namespace', NS]);
  await mustKubectl(admin, ['create', 'namespace', DP_NS]);
  const { objects } = await render(offline, { release: RELEASE, namespace: NS, set: [`nodeAgent.devicePlugin.namespace=${DP_NS}`] });
  rbacObjects = objects.filter((o) => ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(o.kind));
  await mustKubectl(admin, ['apply', '-f', '-'], manifestsYaml(rbacObjects));
  controllerKubeconfig = await tokenKubeconfig(CONTROLLER_SA);
  agentKubeconfig = await tokenKubeconfig(AGENT_SA);
}, T);

afterAll(async () => {
  await cluster?.teardown();
  if (rbacObjects.length) await kubectl(admin, ['delete', '--ignore-not-found', '--wait=false', '-f', '-'], { input: manifestsYaml(rbacObjects) });
  for (const ns of [NS, DP_NS]) await removeNamespace(admin, ns);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(offline, { recursive: true, force: true });
}, T);

it('the chart rendered one ServiceAccount per component, applied for real with its RBAC', () => {
  expect(rbacObjects.filter((o) => o.kind === 'ServiceAccount').map((o) => o.metadata.name).sort()).toEqual([CONTROLLER_SA, AGENT_SA].sort());
  expect(rbacObjects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`).sort()).toEqual(
    [
      `ServiceAccount/${NS}/${CONTROLLER_SA}`,
      `ServiceAccount/${NS}/${AGENT_SA}`,
      `ClusterRole//${CONTROLLER_SA}`,
      `ClusterRoleBinding//${CONTROLLER_SA}`,
      `Role/default/${CONTROLLER_SA}-events`,
      `RoleBinding/default/${CONTROLLER_SA}-events`,
      `Role/${NS}/${CONTROLLER_SA}-lease`,
      `RoleBinding/${NS}/${CONTROLLER_SA}-lease`,
      `Role/${DP_NS}/${AGENT_SA}`,
      `RoleBinding/${DP_NS}/${AGENT_SA}`,
    ].sort(),
  );
});

it(
  'sufficient: the controller process with only its ServiceAccount token takes a NodeENI to Ready (finalizer, status, Events, Lease) and deletes it',
  async () => {
    cluster = new TestCluster({
      KUBECONFIG: controllerKubeconfig,
      LEADER_ELECTION: 'true',
      LEASE_NAMESPACE: NS,
      POD_NAMESPACE: NS,
      LEASE_NAME: LEASE,
      METRICS_PORT: '0',
    });
    const c = cluster;
    const selector = { 'helm-rbac-test': c.runId };
    // A simulated node: an emulated instance, a Node with providerID aws:///us-east-1a/<instance>, a network
    // namespace and sysfs tree where EC2 attachments appear as devices, and the node agent on its task queue.
    const [node] = await c.addNodes(1, { ...selector, ng: 'multi-eni' });
    expect(node!.sim).toBeDefined();
    c.controller.start();
    const subnet = state.seed.subnets.find((s) => s.az === 'us-east-1a')!;
    const name = `helm-rbac-${suffix}`;
    await c.apply({
      apiVersion: `${API_GROUP}/${API_VERSION}`,
      kind: NODEENI_KIND,
      metadata: { name },
      spec: { nodeSelector: selector, subnetID: subnet.id, securityGroupIDs: [state.seed.securityGroups[0]!.id], deviceIndex: 2, mtu: 9001 },
    } as NodeENI);

    const ready = await c.waitReady(name, 1, 150000).catch((e: Error) => {
      throw new Error(`${e.message}\ncontroller log:\n${c.controller.tail(60)}`);
    });
    expect(ready.metadata.finalizers).toContain(NODEENI_FINALIZER);
    const att = ready.status!.attachments![0]!;
    expect(att).toMatchObject({ nodeID: node!.name, instanceID: node!.instanceId, subnetID: subnet.id, phase: 'Ready' });
    expect(att.eniID).toMatch(/^eni-/);
    // The watcher's own status write (conditions, the attachments list from the pair's NodeENIAttachment), through nodeenis/status.
    await eventually(
      'the Ready condition',
      async () => ((await c.get(name))?.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'),
      30000,
    );
    const enis = await c.enis();
    expect(enis.map((e) => [e.NetworkInterfaceId, e.Attachment?.InstanceId])).toEqual([[att.eniID, node!.instanceId]]);
    await eventually('the ENIConfigured Event', async () => (await c.events(name)).some((e) => e.reason === 'ENIConfigured'), 30000);
    const reasons = (await c.events(name)).map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(['ENICreated', 'ENIAttached', 'ENIConfigured']));
    // Leader election went through the chart's Lease Role.
    const lease = await kubeConfigFile(admin).makeApiClient(CoordinationV1Api).readNamespacedLease({ name: LEASE, namespace: NS });
    expect(lease.spec?.holderIdentity).toBeTruthy();

    await c.delete(name);
    await c.waitGone(name, 120000).catch((e: Error) => {
      throw new Error(`${e.message}\ncontroller log:\n${c.controller.tail(60)}`);
    });
    await eventually('the ENI deleted in EC2', async () => (await c.enis()).length === 0, 60000);
    expect((await c.events(name)).map((e) => e.reason)).toContain('ENIDeleted');
    // Nothing the controller tried was refused (a refused Event would only be logged).
    const log = fs.readFileSync(c.controller.log, 'utf8');
    expect(log).not.toMatch(/forbidden|HTTP 403|code: 403/i);
    expect(log).toContain('multi-eni controller running: worker + watcher');
  },
  T,
);

it(
  "sufficient: the node agent's token restarts the device plugin pod on its own node, with the agent's code",
  async () => {
    const core = kubeConfigFile(admin).makeApiClient(CoreV1Api);
    // No controller-manager here: the namespace's default ServiceAccount that pods need is made by hand.
    await core.createNamespacedServiceAccount({ namespace: DP_NS, body: { metadata: { name: 'default' } } });
    const pod = (name: string, nodeName: string) => ({
      metadata: { name, labels: { app: 'sriovdp' } },
      spec: { nodeName, automountServiceAccountToken: false, containers: [{ name: 'dp', image: 'registry.k8s.io/pause:3.10' }] },
    });
    await core.createNamespacedPod({ namespace: DP_NS, body: pod('sriovdp-here', 'node-a') });
    await core.createNamespacedPod({ namespace: DP_NS, body: pod('sriovdp-elsewhere', 'node-b') });
    const logs: string[] = [];
    const restart = kubeDevicePluginRestarter({
      kubeConfig: kubeConfigFile(agentKubeconfig),
      nodeName: 'node-a',
      namespace: DP_NS,
      labelSelector: 'app=sriovdp',
      log: (m, a) => logs.push(`${m} ${JSON.stringify(a)}`),
    });
    await restart('SR-IOV config changed');
    expect(logs.join('\n')).toContain('restarted SR-IOV device plugin pod');
    // Bound to a node, a deleted pod waits for its kubelet (none here): deletion shows as a deletionTimestamp.
    const here = await core.readNamespacedPod({ name: 'sriovdp-here', namespace: DP_NS }).catch(() => undefined);
    expect(here === undefined || !!here.metadata?.deletionTimestamp).toBe(true);
    const elsewhere = await core.readNamespacedPod({ name: 'sriovdp-elsewhere', namespace: DP_NS });
    expect(elsewhere.metadata?.deletionTimestamp).toBeUndefined();
  },
  T,
);

/** [verb, resource or resource/name (a trailing "#status" names the subresource), namespace (none: all), allowed]. */
type CanI = [verb: string, resource: string, namespace: string | undefined, allowed: boolean];

async function canI(kubeconfig: string, [verb, resource, namespace]: CanI): Promise<boolean> {
  const [what, subresource] = resource.split('#');
  const args = ['auth', 'can-i', verb, what!, ...(subresource ? [`--subresource=${subresource}`] : []), ...(namespace ? ['-n', namespace] : ['--all-namespaces'])];
  const r = await kubectl(kubeconfig, args);
  const answer = r.stdout.trim();
  if (answer !== 'yes' && answer !== 'no') throw new Error(`kubectl ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return answer === 'yes';
}

describe('no more than that', () => {
  const agentChecks: CanI[] = [
    ['list', 'pods', DP_NS, true],
    ['delete', 'pods', DP_NS, true],
    ['get', 'pods', DP_NS, false],
    ['create', 'pods', DP_NS, false],
    ['list', 'pods', NS, false],
    ['delete', 'pods', 'kube-system', false],
    ['list', 'pods', undefined, false],
    ['list', 'nodes', undefined, false],
    ['get', 'nodes', undefined, false],
    ['get', 'nodeenis.networking.k8s.aws', undefined, false],
    ['patch', 'nodeenis.networking.k8s.aws', undefined, false],
    ['patch', 'nodeenis.networking.k8s.aws#status', undefined, false],
    ['create', 'nodeeniattachments.networking.k8s.aws', undefined, false],
    ['patch', 'nodeeniattachments.networking.k8s.aws', undefined, false],
    ['delete', 'nodeeniattachments.networking.k8s.aws', undefined, false],
    ['get', 'secrets', DP_NS, false],
    ['get', 'secrets', NS, false],
    ['create', 'events', 'default', false],
    ['get', 'leases.coordination.k8s.io', NS, false],
  ];
  const controllerChecks: CanI[] = [
    ['list', 'nodes', undefined, true],
    ['watch', 'nodes', undefined, true],
    ['get', 'nodes', undefined, false],
    ['patch', 'nodes', undefined, false],
    ['delete', 'nodes', undefined, false],
    ['list', 'nodeenis.networking.k8s.aws', undefined, true],
    ['patch', 'nodeenis.networking.k8s.aws', undefined, true],
    ['patch', 'nodeenis.networking.k8s.aws#status', undefined, true],
    ['update', 'nodeenis.networking.k8s.aws', undefined, false],
    ['create', 'nodeenis.networking.k8s.aws', undefined, false],
    ['delete', 'nodeenis.networking.k8s.aws', undefined, false],
    ['update', 'nodeenis.networking.k8s.aws#status', undefined, false],
    ['list', 'nodeeniattachments.networking.k8s.aws', undefined, true],
    ['watch', 'nodeeniattachments.networking.k8s.aws', undefined, true],
    ['create', 'nodeeniattachments.networking.k8s.aws', undefined, true],
    ['patch', 'nodeeniattachments.networking.k8s.aws', undefined, true],
    ['delete', 'nodeeniattachments.networking.k8s.aws', undefined, true],
    ['update', 'nodeeniattachments.networking.k8s.aws', undefined, false],
    ['deletecollection', 'nodeeniattachments.networking.k8s.aws', undefined, false],
    ['create', 'events', 'default', true],
    ['create', 'events', NS, false],
    ['delete', 'events', 'default', false],
    ['create', 'leases.coordination.k8s.io', NS, true],
    [`update`, `leases.coordination.k8s.io/${LEASE}`, NS, true],
    [`update`, 'leases.coordination.k8s.io/kube-controller-manager', NS, false],
    ['create', 'leases.coordination.k8s.io', 'kube-system', false],
    ['list', 'leases.coordination.k8s.io', NS, false],
    ['delete', 'pods', NS, false],
    ['list', 'pods', undefined, false],
    ['get', 'secrets', NS, false],
    ['list', 'secrets', undefined, false],
    ['get', 'configmaps', NS, false],
    ['create', 'serviceaccounts/token', NS, false],
  ];

  it.each([
    ['node agent', () => agentKubeconfig, agentChecks],
    ['controller', () => controllerKubeconfig, controllerChecks],
  ] as const)('kubectl auth can-i with the %s token answers as the chart intends', async (_who, file, checks) => {
    const answers = await Promise.all(checks.map(async (c) => [c[0], c[1], c[2] ?? '*', await canI(file(), c)] as const));
    expect(answers).toEqual(checks.map((c) => [c[0], c[1], c[2] ?? '*', c[3]] as const));
  }, T);

  it('real requests outside their rights are Forbidden', async () => {
    const agent = (args: string[]) => kubectl(agentKubeconfig, args);
    const ctl = (args: string[]) => kubectl(controllerKubeconfig, args);
    const agentUser = `system:serviceaccount:${NS}:${AGENT_SA}`;
    const ctlUser = `system:serviceaccount:${NS}:${CONTROLLER_SA}`;
    const refused = [
      [await agent(['get', 'nodes']), `User "${agentUser}" cannot list resource "nodes"`],
      [await agent(['get', 'nodeenis']), `User "${agentUser}" cannot list resource "nodeenis"`],
      [await agent(['get', 'pods', '-n', NS]), `User "${agentUser}" cannot list resource "pods" in API group "" in the namespace "${NS}"`],
      [await ctl(['delete', 'pod', 'any', '-n', NS]), `User "${ctlUser}" cannot delete resource "pods" in API group "" in the namespace "${NS}"`],
      [await ctl(['get', 'secrets', '-n', NS]), `User "${ctlUser}" cannot list resource "secrets" in API group "" in the namespace "${NS}"`],
      [await ctl(['delete', 'nodeeni', 'any']), `User "${ctlUser}" cannot delete resource "nodeenis"`],
      [await ctl(['label', 'node', 'any', 'x=y']), `User "${ctlUser}" cannot get resource "nodes"`],
    ] as const;
    for (const [r, message] of refused) {
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('Forbidden');
      expect(r.stderr).toContain(message);
    }
    // kubectl patch reads first; the PATCH itself, as the controller's code sends it, with the agent's token:
    const custom = kubeConfigFile(agentKubeconfig).makeApiClient(CustomObjectsApi);
    const err = await custom
      .patchClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: 'nodeenis', name: 'any', body: { metadata: { finalizers: [] } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
      .then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ApiException);
    expect((err as ApiException<string>).code).toBe(403);
    const body = (err as ApiException<unknown>).body;
    const status = (typeof body === 'string' ? JSON.parse(body) : body) as { reason: string; message: string };
    expect(status.reason).toBe('Forbidden');
    expect(status.message).toContain(`User "${agentUser}" cannot patch resource "nodeenis"`);
  }, T);

  it('SelfSubjectRulesReview lists exactly the rendered rules, in every namespace', async () => {
    const key = (r: { apiGroups?: string[]; resources?: string[]; verbs: string[]; resourceNames?: string[] }) =>
      JSON.stringify([[...(r.apiGroups ?? [])].sort(), [...(r.resources ?? [])].sort(), [...r.verbs].sort(), [...(r.resourceNames ?? [])].sort()]);
    type Rule = { apiGroups?: string[]; resources?: string[]; verbs: string[]; resourceNames?: string[] };
    const rulesOf = (o: K8sObject) => (o as unknown as { rules: Rule[] }).rules;
    // Granted to every authenticated user by the apiserver's bootstrap roles (system:basic-user): not the chart's.
    const everyone = (r: Rule) => (r.apiGroups ?? []).every((g) => g === 'authorization.k8s.io' || g === 'authentication.k8s.io');
    const expected = (sa: string, ns: string) => {
      const bound = rbacObjects
        .filter((o) => (o.kind === 'ClusterRoleBinding' || (o.kind === 'RoleBinding' && o.metadata.namespace === ns)))
        .filter((b) => (b as unknown as { subjects: { name: string }[] }).subjects.some((s) => s.name === sa))
        .map((b) => (b as unknown as { roleRef: { kind: string; name: string } }).roleRef);
      return bound
        .flatMap((ref) => rulesOf(find(rbacObjects.filter((o) => o.kind === ref.kind && (ref.kind === 'ClusterRole' || o.metadata.namespace === ns)), ref.kind, ref.name)))
        .map(key)
        .sort();
    };
    for (const [sa, file] of [
      [AGENT_SA, agentKubeconfig],
      [CONTROLLER_SA, controllerKubeconfig],
    ] as const) {
      const api = kubeConfigFile(file).makeApiClient(AuthorizationV1Api);
      for (const ns of [NS, DP_NS, 'default', 'kube-system']) {
        const review = await api.createSelfSubjectRulesReview({ body: { spec: { namespace: ns } } });
        const got = review.status!.resourceRules.filter((r) => !everyone(r)).map(key).sort();
        expect({ sa, ns, rules: got }).toEqual({ sa, ns, rules: expected(sa, ns) });
      }
    }
    // And the expectations are not empty where the chart grants something.
    expect(expected(AGENT_SA, DP_NS)).toHaveLength(1);
    expect(expected(AGENT_SA, NS)).toEqual([]);
    expect(expected(CONTROLLER_SA, NS)).toHaveLength(6);
  }, T);
});
