// The readiness gate's least privilege on the real kube-apiserver: with readinessGate.enabled the chart gives the
// controller's ServiceAccount `patch` on Nodes (RBAC cannot name fields), and its ValidatingAdmissionPolicy refuses
// every change by that ServiceAccount except removing the startup taint and setting/removing the ready label.
// The requests are made with a token of the chart's ServiceAccount; the allowed ones are the watcher's own patches
// (watcher/node-readiness.ts gatePatch). Without the gate the ClusterRole has no patch on Nodes at all.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiException, CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, type V1Node, type V1Taint } from '@kubernetes/client-node';
import { kubeconfigYaml } from '../../dev/stack/certs.js';
import { readState, type StackState } from '../../dev/stack/stack.js';
import { FIELD_MANAGER_WATCHER } from '../../common/names.js';
import { gatePatch, indexNodeENIs, planNode, type GateNode, type ReadinessGate } from '../../watcher/node-readiness.js';
import { eventually } from '../support/env.js';
import { find, kubectl, manifestsYaml, offlineCopy, removeNamespace, render, type K8sObject } from './support.js';

const T = 120000;
const suffix = randomBytes(3).toString('hex');
const RELEASE = `gate-${suffix}`;
const NS = `helm-gate-${suffix}`;
const CONTROLLER_SA = `${RELEASE}-multi-eni-controller-controller`;
const SA_USER = `system:serviceaccount:${NS}:${CONTROLLER_SA}`;
const POLICY = `${RELEASE}-multi-eni-controller-controller-node-patch`;
const TAINT = 'multi-eni.networking.k8s.aws/not-ready';
const LABEL = 'multi-eni.networking.k8s.aws/ready';
const gate: ReadinessGate = { taintKey: TAINT, labelKey: LABEL, labelValue: 'true', nodeSelector: {} };
const STARTUP: V1Taint = { key: TAINT, effect: 'NoSchedule' };
const DEDICATED: V1Taint = { key: 'dedicated', value: 'telco', effect: 'NoSchedule' };
const NODE = `gate-node-${suffix}`;
const PLAIN = `gate-plain-${suffix}`;
const DENIED = `ValidatingAdmissionPolicy '${POLICY}' with binding '${POLICY}' denied request: `;
const refusal = (node: string, reason: string) => `nodes "${node}" is forbidden: ${DENIED}node ${node}: the controller (${SA_USER}) ${reason}`;

let state: StackState;
let offline: string;
let dir: string;
let admin: CoreV1Api;
let controller: CoreV1Api;
let applied: K8sObject[] = [];
let rendered: K8sObject[] = [];

type Refusal = { code: number; reason: string; message: string };
/** A merge patch by the controller's ServiceAccount: 'patched', or the apiserver's refusal. */
async function patch(name: string, body: object, dryRun = false): Promise<'patched' | Refusal> {
  try {
    await controller.patchNode({ name, body, fieldManager: FIELD_MANAGER_WATCHER, ...(dryRun ? { dryRun: 'All' } : {}) }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    return 'patched';
  } catch (e) {
    if (!(e instanceof ApiException)) throw e;
    const b = (typeof e.body === 'string' ? JSON.parse(e.body) : e.body) as { reason: string; message: string };
    return { code: e.code, reason: b.reason, message: b.message };
  }
}

const read = (name: string): Promise<V1Node> => admin.readNode({ name });
const plainTaints = (n: V1Node) => (n.spec?.taints ?? []).filter((t) => t.key !== 'node.kubernetes.io/not-ready').map((t) => ({ key: t.key, effect: t.effect, ...(t.value ? { value: t.value } : {}) }));

beforeAll(async () => {
  const s = readState();
  if (!s) throw new Error('no local stack state: the integration global setup should have started it');
  state = s;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'helm-gate-'));
  const kc = new KubeConfig();
  kc.loadFromFile(s.kube.kubeconfig);
  admin = kc.makeApiClient(CoreV1Api);
  offline = offlineCopy();
  await admin.createNamespace({ body: { metadata: { name: NS } } });
  ({ objects: rendered } = await render(offline, { release: RELEASE, namespace: NS, set: ['readinessGate.enabled=true'] }));
  applied = rendered.filter(
    (o) =>
      ['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind) ||
      (o.kind === 'ServiceAccount' && o.metadata.name === CONTROLLER_SA),
  );
  const r = await kubectl(s.kube.kubeconfig, ['apply', '-f', '-'], { input: manifestsYaml(applied) });
  if (r.code !== 0) throw new Error(`kubectl apply: ${r.stderr}`);
  const token = await kubectl(s.kube.kubeconfig, ['create', 'token', CONTROLLER_SA, '-n', NS, '--duration=1h']);
  if (token.code !== 0) throw new Error(token.stderr);
  const file = path.join(dir, 'controller.kubeconfig');
  fs.writeFileSync(file, kubeconfigYaml(s.kube.server, s.kube.pki.caCert, { token: token.stdout.trim() }), { mode: 0o600 });
  const ckc = new KubeConfig();
  ckc.loadFromFile(file);
  controller = ckc.makeApiClient(CoreV1Api);
  await admin.createNode({
    body: { metadata: { name: NODE, labels: { ng: 'telco' }, annotations: { owner: 'ops' } }, spec: { providerID: 'aws:///us-east-1a/i-0gate', taints: [DEDICATED, STARTUP] } },
  });
  await admin.createNode({ body: { metadata: { name: PLAIN, labels: { ng: 'plain' } }, spec: { taints: [DEDICATED] } } });
  // The policy takes effect once the apiserver's admission plugin has loaded it: wait for a dry-run refusal.
  await eventually('the policy to be enforced', async () => {
    const r = await patch(NODE, { metadata: { labels: { ng: 'other' } } }, true);
    return r !== 'patched' && r.message.includes(DENIED);
  }, 60000);
}, T);

afterAll(async () => {
  if (applied.length) await kubectl(state.kube.kubeconfig, ['delete', '--ignore-not-found', '--wait=false', '-f', '-'], { input: manifestsYaml(applied) });
  for (const n of [NODE, PLAIN]) await admin.deleteNode({ name: n }).catch(() => undefined);
  await removeNamespace(state.kube.kubeconfig, NS);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(offline, { recursive: true, force: true });
}, T);

it('RBAC: patch on Nodes only with the gate on; the policy and its binding for the controller ServiceAccount', async () => {
  const nodeVerbs = (objects: K8sObject[]) =>
    ((find(objects, 'ClusterRole', '-controller') as unknown as { rules: { resources: string[]; verbs: string[] }[] }).rules ?? [])
      .filter((r) => r.resources.includes('nodes'))
      .flatMap((r) => r.verbs)
      .sort();
  expect(nodeVerbs(rendered)).toEqual(['get', 'list', 'patch', 'watch']);
  const { objects: off } = await render(offline, { release: RELEASE, namespace: NS });
  expect(nodeVerbs(off)).toEqual(['list', 'watch']);
  expect(off.filter((o) => o.metadata.name === POLICY)).toEqual([]);
  expect(applied.filter((o) => o.metadata.name === POLICY).map((o) => o.kind).sort()).toEqual(['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']);
}, T);

type Body = object | ((taints: V1Taint[]) => object);
it.each<[string, string, Body, string]>([
  ['another label', NODE, { metadata: { labels: { ng: 'other' } } }, `may change no label but ${LABEL}`],
  ['a new label', NODE, { metadata: { labels: { team: 'x' } } }, `may change no label but ${LABEL}`],
  ['the ready label to another value', NODE, { metadata: { labels: { [LABEL]: 'false' } } }, `may set the label ${LABEL} only to "true"`],
  // The taint lists are the node's own (with the apiserver's node.kubernetes.io/not-ready) but for the one change.
  ['another taint removed', NODE, (t) => ({ spec: { taints: t.filter((x) => x.key !== 'dedicated') } }), `may change no taint but remove ${TAINT}`],
  ['the startup taint added', PLAIN, (t) => ({ spec: { taints: [...t, STARTUP] } }), `may only remove the taint ${TAINT}, not add or change it`],
  ['the startup taint changed', NODE, (t) => ({ spec: { taints: t.map((x) => (x.key === TAINT ? { ...x, effect: 'NoExecute' } : x)) } }), `may only remove the taint ${TAINT}, not add or change it`],
  ['an annotation', NODE, { metadata: { annotations: { owner: 'me' } } }, 'may change no annotation, finalizer or owner reference'],
  ['a finalizer', NODE, { metadata: { finalizers: ['example.com/keep'] } }, 'may change no annotation, finalizer or owner reference'],
  ['a cordon (spec.unschedulable)', NODE, { spec: { unschedulable: true } }, `may change nothing in the spec but remove the taint ${TAINT}`],
])('refuses %s', async (_what, node, body, reason) => {
  const before = await read(node);
  expect(await patch(node, typeof body === 'function' ? body(before.spec?.taints ?? []) : body)).toEqual({ code: 403, reason: 'Forbidden', message: refusal(node, reason) });
  const after = await read(node);
  expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
}, T);

it("admits the watcher's own patches: the startup taint removed with the label set, then the label removed; nothing else moves", async () => {
  const readyStatus = {
    apiVersion: 'networking.k8s.aws/v1alpha1',
    kind: 'NodeENI',
    metadata: { name: 'x' },
    spec: { nodeSelector: { ng: 'telco' }, subnetID: 'subnet-1', securityGroupIDs: ['sg-1'] },
    status: { attachments: [{ nodeID: NODE, subnetID: 'subnet-1', instanceID: 'i-0gate', phase: 'Ready' as const }] },
  };
  const before = (await read(NODE)) as GateNode;
  const change = planNode(indexNodeENIs([readyStatus]), before, gate)!;
  expect(change).toMatchObject({ removeTaint: true, label: 'set' });
  expect(await patch(NODE, gatePatch(before, change, gate))).toBe('patched');
  const after = await read(NODE);
  expect(plainTaints(after)).toEqual([DEDICATED]);
  expect(after.metadata?.labels).toEqual({ ng: 'telco', [LABEL]: 'true' });
  expect(after.metadata?.annotations).toEqual({ owner: 'ops' });

  // The NodeENI no longer Ready there: the label goes (the taint is not put back).
  const pending = { ...readyStatus, status: { attachments: [{ ...readyStatus.status.attachments[0]!, phase: 'Attaching' as const }] } };
  const again = planNode(indexNodeENIs([pending]), after as GateNode, gate)!;
  expect(again).toMatchObject({ removeTaint: false, label: 'remove' });
  expect(await patch(NODE, gatePatch(after as GateNode, again, gate))).toBe('patched');
  const last = await read(NODE);
  expect(last.metadata?.labels).toEqual({ ng: 'telco' });
  expect(plainTaints(last)).toEqual([DEDICATED]);
}, T);

it('leaves everyone else alone: the admin changes labels and taints', async () => {
  await admin.patchNode({ name: PLAIN, body: { metadata: { labels: { ng: 'other' } }, spec: { taints: [] } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  const n = await read(PLAIN);
  expect(n.metadata?.labels).toEqual({ ng: 'other' });
  expect(plainTaints(n)).toEqual([]);
}, T);
