// The chart's ValidatingAdmissionPolicy on the node agent's pod deletes, on the real kube-apiserver: the agent's
// Role lets it delete any pod of the device plugin's namespace, and the policy narrows that to the SR-IOV device
// plugin's pod on the node the requesting token is bound to. The tokens are minted as the kubelet mints them for
// the agent's pod (TokenRequest bound to a Pod that runs on a Node), so the apiserver itself puts the node in the
// request's userInfo.extra["authentication.kubernetes.io/node-name"].
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiException, AuthenticationV1Api, CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { kubeconfigYaml } from '../../dev/stack/certs.js';
import { readState, type StackState } from '../../dev/stack/stack.js';
import { kubeDevicePluginRestarter } from '../../node-agent/device-plugin.js';
import { eventually } from '../support/env.js';
import { kubectl, manifestsYaml, offlineCopy, removeNamespace, render, type K8sObject } from './support.js';

const T = 120000;
const suffix = randomBytes(3).toString('hex');
const RELEASE = `vap-${suffix}`;
const NS = `helm-vap-${suffix}`;
const DP_NS = `helm-vap-dp-${suffix}`;
const AGENT_SA = `${RELEASE}-multi-eni-controller-node-agent`;
const POLICY = `${RELEASE}-multi-eni-controller-node-agent-pod-delete`;
const NODE_A = `vap-node-a-${suffix}`;
const NODE_B = `vap-node-b-${suffix}`;
const NODE_NAME_KEY = 'authentication.kubernetes.io/node-name';
const DENIED = `ValidatingAdmissionPolicy '${POLICY}' with binding '${POLICY}' denied request: `;
/** The apiserver's whole refusal of a pod delete by the policy. */
const refusal = (podName: string, reason: string) => `pods "${podName}" is forbidden: ${DENIED}${reason}`;

let state: StackState;
let offline: string;
let dir: string;
let admin: KubeConfig;
let core: CoreV1Api;
let applied: K8sObject[] = [];
/** CoreV1Api clients holding the agent's tokens: bound to its pod on node A, on node B, and bound to nothing. */
let agentOnA: CoreV1Api;
let agentOnB: CoreV1Api;
let unbound: CoreV1Api;
let tokenOnA: string;

function kubeConfigWithToken(name: string, token: string): KubeConfig {
  const file = path.join(dir, `${name}.kubeconfig`);
  fs.writeFileSync(file, kubeconfigYaml(state.kube.server, state.kube.pki.caCert, { token }), { mode: 0o600 });
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return kc;
}

function pod(name: string, nodeName: string, labels: Record<string, string>, serviceAccountName = 'default'): V1Pod {
  return {
    metadata: { name, labels },
    spec: { nodeName, serviceAccountName, automountServiceAccountToken: false, containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] },
  };
}

/** A TokenRequest for the agent's ServiceAccount bound to one of its pods, as the kubelet makes for the pod. */
async function podBoundToken(podName: string): Promise<string> {
  const p = await core.readNamespacedPod({ name: podName, namespace: NS });
  const tr = await core.createNamespacedServiceAccountToken({
    name: AGENT_SA,
    namespace: NS,
    body: { spec: { audiences: [], expirationSeconds: 3600, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: podName, uid: p.metadata!.uid! } } },
  });
  return tr.status!.token;
}

/** Deletes a pod with a client; the apiserver's refusal as { code, reason, message }, or 'deleted'. */
async function del(api: CoreV1Api, name: string, dryRun = false): Promise<'deleted' | { code: number; reason: string; message: string }> {
  try {
    await api.deleteNamespacedPod({ name, namespace: DP_NS, ...(dryRun ? { dryRun: 'All' } : {}) });
    return 'deleted';
  } catch (e) {
    if (!(e instanceof ApiException)) throw e;
    const body = (typeof e.body === 'string' ? JSON.parse(e.body) : e.body) as { reason: string; message: string };
    return { code: e.code, reason: body.reason, message: body.message };
  }
}

async function terminating(name: string): Promise<boolean> {
  const p = await core.readNamespacedPod({ name, namespace: DP_NS }).catch((e: unknown) => {
    if (e instanceof ApiException && e.code === 404) return undefined;
    throw e;
  });
  return p === undefined || !!p.metadata?.deletionTimestamp;
}

beforeAll(async () => {
  const s = readState();
  if (!s) throw new Error('no local stack state: the integration global setup should have started it');
  state = s;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'helm-vap-'));
  admin = new KubeConfig();
  admin.loadFromFile(s.kube.kubeconfig);
  core = admin.makeApiClient(CoreV1Api);
  offline = offlineCopy();
  for (const ns of [NS, DP_NS]) await core.createNamespace({ body: { metadata: { name: ns } } });
  for (const node of [NODE_A, NODE_B]) await core.createNode({ body: { metadata: { name: node, labels: { ng: 'multi-eni' } } } });
  // What the chart installs for the node agent: its ServiceAccount, its Role and binding, the policy and its binding.
  const { objects } = await render(offline, { release: RELEASE, namespace: NS, set: [`nodeAgent.devicePlugin.namespace=${DP_NS}`] });
  applied = objects.filter(
    (o) =>
      ['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'].includes(o.kind) ||
      (['ServiceAccount', 'Role', 'RoleBinding'].includes(o.kind) && o.metadata.name === AGENT_SA),
  );
  const r = await kubectl(s.kube.kubeconfig, ['apply', '-f', '-'], { input: manifestsYaml(applied) });
  if (r.code !== 0) throw new Error(`kubectl apply: ${r.stderr}`);
  // No controller-manager here: the device plugin namespace's default ServiceAccount is made by hand.
  await core.createNamespacedServiceAccount({ namespace: DP_NS, body: { metadata: { name: 'default' } } });
  const pods: [string, string, Record<string, string>][] = [
    ['sriovdp-a', NODE_A, { app: 'sriovdp' }],
    ['sriovdp-a-next', NODE_A, { app: 'sriovdp' }],
    ['sriovdp-b', NODE_B, { app: 'sriovdp' }],
    ['coredns-a', NODE_A, { 'k8s-app': 'kube-dns' }],
  ];
  for (const [name, node, labels] of pods) await core.createNamespacedPod({ namespace: DP_NS, body: pod(name, node, labels) });
  // The node agent's own pods (DaemonSet pods on node A and node B), whose tokens the kubelet would request.
  for (const [name, node] of [
    ['node-agent-a', NODE_A],
    ['node-agent-b', NODE_B],
  ]) {
    await core.createNamespacedPod({ namespace: NS, body: pod(name!, node!, { app: 'node-agent' }, AGENT_SA) });
  }
  tokenOnA = await podBoundToken('node-agent-a');
  agentOnA = kubeConfigWithToken('agent-a', tokenOnA).makeApiClient(CoreV1Api);
  agentOnB = kubeConfigWithToken('agent-b', await podBoundToken('node-agent-b')).makeApiClient(CoreV1Api);
  const plain = await kubectl(s.kube.kubeconfig, ['create', 'token', AGENT_SA, '-n', NS, '--duration=1h']);
  if (plain.code !== 0) throw new Error(plain.stderr);
  unbound = kubeConfigWithToken('unbound', plain.stdout.trim()).makeApiClient(CoreV1Api);
  // The policy takes effect once the apiserver's admission plugin has loaded it (an informer): wait until a dry-run
  // delete (admission runs, nothing is deleted) of a pod the agent must not delete is refused.
  await eventually('the policy to be enforced', async () => {
    const r = await del(agentOnA, 'coredns-a', true);
    return r !== 'deleted' && r.message.includes(DENIED);
  }, 60000);
}, T);

afterAll(async () => {
  if (applied.length) await kubectl(state.kube.kubeconfig, ['delete', '--ignore-not-found', '--wait=false', '-f', '-'], { input: manifestsYaml(applied) });
  for (const node of [NODE_A, NODE_B]) await core.deleteNode({ name: node }).catch(() => undefined);
  for (const ns of [NS, DP_NS]) await removeNamespace(state.kube.kubeconfig, ns);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(offline, { recursive: true, force: true });
}, T);

it('the chart renders the policy and its binding for the node agent ServiceAccount', () => {
  expect(applied.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
    [`ServiceAccount/${AGENT_SA}`, `Role/${AGENT_SA}`, `RoleBinding/${AGENT_SA}`, `ValidatingAdmissionPolicy/${POLICY}`, `ValidatingAdmissionPolicyBinding/${POLICY}`].sort(),
  );
});

it("the apiserver binds the pod-bound token to the pod's node (userInfo.extra node-name)", async () => {
  const review = await kubeConfigWithToken('whoami', tokenOnA).makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
  expect(review.status?.userInfo?.username).toBe(`system:serviceaccount:${NS}:${AGENT_SA}`);
  expect(review.status?.userInfo?.extra?.[NODE_NAME_KEY]).toEqual([NODE_A]);
  expect(review.status?.userInfo?.extra?.['authentication.kubernetes.io/pod-name']).toEqual(['node-agent-a']);
});

it('refuses the device plugin pod on another node', async () => {
  const r = await del(agentOnA, 'sriovdp-b');
  expect(r).toEqual({
    code: 403,
    reason: 'Forbidden',
    message: refusal('sriovdp-b', `pod ${DP_NS}/sriovdp-b is on node ${NODE_B}, not on the node agent's node ${NODE_A}: the node agent may delete only the device plugin pod on its own node`),
  });
  expect(await terminating('sriovdp-b')).toBe(false);
}, T);

it('refuses a pod on its own node that is not the device plugin (coredns-like)', async () => {
  const r = await del(agentOnA, 'coredns-a');
  expect(r).toEqual({
    code: 403,
    reason: 'Forbidden',
    message: refusal('coredns-a', `pod ${DP_NS}/coredns-a is not an SR-IOV device plugin pod (namespace ${DP_NS}, labels app=sriovdp): the node agent may delete only the device plugin pod on its own node`),
  });
  expect(await terminating('coredns-a')).toBe(false);
}, T);

it("refuses everything to the agent's token when it is not bound to a node", async () => {
  const r = await del(unbound, 'sriovdp-a');
  expect(r).toMatchObject({ code: 403, reason: 'Forbidden' });
  expect(r !== 'deleted' && r.message).toBe(
    refusal('sriovdp-a', `the node agent (system:serviceaccount:${NS}:${AGENT_SA}) may delete pods only with a ServiceAccount token bound to its pod on a node; this token carries no node (no ${NODE_NAME_KEY})`),
  );
  expect(await terminating('sriovdp-a')).toBe(false);
}, T);

it('admits the device plugin pod on its own node (each agent on its own node)', async () => {
  expect(await del(agentOnA, 'sriovdp-a')).toBe('deleted');
  // Bound to a node, a deleted pod waits for its kubelet (none here): deletion shows as a deletionTimestamp.
  expect(await terminating('sriovdp-a')).toBe(true);
  expect(await del(agentOnB, 'sriovdp-b')).toBe('deleted');
  expect(await terminating('sriovdp-b')).toBe(true);
}, T);

it("the node agent's own restart code works under the policy with its pod-bound token", async () => {
  const logs: string[] = [];
  const kc = kubeConfigWithToken('restarter', tokenOnA);
  await kubeDevicePluginRestarter({ kubeConfig: kc, nodeName: NODE_A, namespace: DP_NS, labelSelector: 'app=sriovdp', log: (m, a) => logs.push(`${m} ${JSON.stringify(a)}`) })('SR-IOV config changed');
  expect(logs).toEqual([expect.stringContaining('restarted SR-IOV device plugin pod {"pod":"sriovdp-a-next"')]);
  expect(await terminating('sriovdp-a-next')).toBe(true);
  expect(await terminating('coredns-a')).toBe(false);
}, T);

it('leaves everyone else alone: the admin deletes the coredns-like pod', async () => {
  expect(await del(core, 'coredns-a')).toBe('deleted');
  expect(await terminating('coredns-a')).toBe(true);
}, T);
