// The Helm chart: helm lint/template for the default values and every example from this checkout with no charts/
// directory and no network, the values schema's refusals, and the rendered manifests against the real
// kube-apiserver (server-side dry run, CRD included; Pod Security levels). The chart with Temporal in the same
// release (helm/multi-eni-with-temporal) is tested in umbrella.test.ts.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadYaml } from '@kubernetes/client-node';
import { REPO_ROOT } from '../../dev/stack/paths.js';
import { readState, type StackState } from '../../dev/stack/stack.js';
import { NodeAgentEnvSchema } from '../../node-agent/config.js';
import { CLUSTER_NAME_PATTERN } from '../../workers/cluster-name.js';
import { freePortPair } from '../support/env.js';
import {
  CHART_DIR,
  EXAMPLES,
  EXAMPLES_DIR,
  NO_NETWORK,
  TEST_CLUSTER_NAME,
  chartYaml,
  clusterNameValues,
  envOf,
  find,
  helm,
  kubectl,
  manifestsYaml,
  podSpec,
  removeNamespace,
  render,
  run,
  type K8sObject,
} from './support.js';

const T = 120000;
const suffix = randomBytes(3).toString('hex');
let state: StackState;
const namespaces: string[] = [];
// clusterName is required and has no default: "default values" are the chart's values plus a cluster name.
const cases: [string, string[]][] = [['default values', []], ...EXAMPLES.map((f): [string, string[]] => [`examples/${f}`, [path.join(EXAMPLES_DIR, f)]])];

beforeAll(() => {
  const s = readState();
  if (!s) throw new Error('no local stack state: the integration global setup should have started it');
  state = s;
});

afterAll(async () => {
  for (const ns of namespaces) await removeNamespace(state.kube.kubeconfig, ns);
}, T);

async function testNamespace(prefix: string, labels: Record<string, string> = {}): Promise<string> {
  const ns = `${prefix}-${suffix}`;
  const r = await kubectl(state.kube.kubeconfig, ['create', 'namespace', ns]);
  if (r.code !== 0) throw new Error(r.stderr);
  namespaces.push(ns);
  for (const [k, v] of Object.entries(labels)) await kubectl(state.kube.kubeconfig, ['label', 'namespace', ns, `${k}=${v}`]);
  return ns;
}

describe('from a checkout: no dependency to fetch, no network (helm 3.21)', () => {
  it('Chart.yaml declares no dependency; nothing fetched is in the chart directory', async () => {
    expect(chartYaml().dependencies).toBeUndefined();
    expect(fs.existsSync(path.join(CHART_DIR, 'charts'))).toBe(false);
    expect(fs.readdirSync(CHART_DIR).filter((f) => f.endsWith('.tgz'))).toEqual([]);
    const list = await helm(['dependency', 'list', CHART_DIR]);
    expect(list.code).toBe(0);
    expect(list.stdout.trim()).toBe('WARNING: no dependencies at ' + path.join(CHART_DIR, 'charts'));
  }, T);

  it.each(cases)('helm template and helm lint work with every connection through a dead proxy: %s', async (_name, files) => {
    const values = [clusterNameValues(), ...files].flatMap((f) => ['-f', f]);
    const template = await helm(['template', 'rel', CHART_DIR, ...values], { env: NO_NETWORK });
    expect({ code: template.code, stderr: template.stderr }).toEqual({ code: 0, stderr: '' });
    expect(template.stdout).toContain('kind: Deployment');
    const lint = await helm(['lint', CHART_DIR, ...values], { env: NO_NETWORK });
    expect(lint.code).toBe(0);
    expect(lint.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(lint.stdout.split('\n').filter((l) => l.startsWith('[WARNING]') || l.startsWith('[ERROR]'))).toEqual([]);
  }, T);
});

describe('values schema', () => {
  it('covers exactly the keys values.yaml documents (and closes every object of its own)', () => {
    type Schema = { type?: string; properties?: Record<string, Schema>; additionalProperties?: unknown };
    const schema = JSON.parse(fs.readFileSync(path.join(CHART_DIR, 'values.schema.json'), 'utf8')) as Schema;
    const values = loadYaml<Record<string, unknown>>(fs.readFileSync(path.join(CHART_DIR, 'values.yaml'), 'utf8'));
    const schemaKeys: string[] = [];
    const open: string[] = [];
    const walk = (sc: Schema, prefix: string) => {
      if (sc.type === 'object' && sc.properties && sc.additionalProperties !== false) open.push(prefix.replace(/\.$/, '') || '(root)');
      for (const [k, sub] of Object.entries(sc.properties ?? {})) {
        schemaKeys.push(`${prefix}${k}`);
        walk(sub, `${prefix}${k}.`);
      }
    };
    walk(schema, '');
    const valueKeys: string[] = [];
    const walkValues = (v: unknown, prefix: string, sc: Schema | undefined) => {
      if (!v || typeof v !== 'object' || Array.isArray(v) || !sc?.properties) return;
      for (const [k, sub] of Object.entries(v)) {
        valueKeys.push(`${prefix}${k}`);
        walkValues(sub, `${prefix}${k}.`, sc.properties[k]);
      }
    };
    walkValues(values, '', schema);
    // `global` is Helm's, shared with the dependency; clusterName is required and has no default (values.yaml
    // documents it in a comment); everything else the schema knows is in values.yaml.
    expect((schema as { required?: string[] }).required).toContain('clusterName');
    expect(valueKeys).not.toContain('clusterName');
    expect(fs.readFileSync(path.join(CHART_DIR, 'values.yaml'), 'utf8')).toMatch(/^# clusterName: prod-eks-1$/m);
    expect(schemaKeys.filter((k) => k !== 'global' && k !== 'clusterName').sort()).toEqual(valueKeys.sort());
    // Only `temporal` stays open: the Temporal chart's naming values, repeated by helm/multi-eni-with-temporal.
    expect(open).toEqual(['temporal']);
  });

  it.each([
    ['a negative EC2 rate limit', ['aws.ec2RateLimit=-1'], "at '/aws/ec2RateLimit': exclusiveMinimum: got -1, want 0"],
    ['a zero EC2 rate limit', ['aws.ec2RateLimit=0'], "at '/aws/ec2RateLimit': exclusiveMinimum: got 0, want 0"],
    ['a zero EC2 budget scale', ['aws.ec2Budget.scale=0'], "at '/aws/ec2Budget/scale': exclusiveMinimum: got 0, want 0"],
    ['an EC2 budget scale above 1', ['aws.ec2Budget.scale=2'], "at '/aws/ec2Budget/scale': maximum: got 2, want 1"],
    ['an EC2 budget override without its rate', ['aws.ec2Budget.overrides.AttachNetworkInterface.capacity=100'], "at '/aws/ec2Budget/overrides/AttachNetworkInterface': missing property 'ratePerSecond'"],
    ['an EC2 budget override of no action, bucket or category', ['aws.ec2Budget.overrides.attach.capacity=1', 'aws.ec2Budget.overrides.attach.ratePerSecond=1'], "invalid propertyName 'attach'"],
    ['an unknown key (a typo of controller.replicas)', ['controller.replica=3'], "at '/controller': additional properties 'replica' not allowed"],
    ['an unknown top-level key', ['tempral.enabled=true'], "at '': additional properties 'tempral' not allowed"],
    ['a Temporal address without a port', ['temporalConnection.address=temporal-frontend.temporal.svc'], "at '/temporalConnection/address': 'temporal-frontend.temporal.svc' does not match pattern"],
    ['a Temporal address with a scheme', ['temporalConnection.address=http://temporal:7233'], "at '/temporalConnection/address': 'http://temporal:7233' does not match pattern"],
    ['a cluster name with a space', ['clusterName=my cluster'], "at '/clusterName': 'my cluster' does not match pattern"],
    ['an empty cluster name', ['clusterName='], "at '/clusterName': minLength: got 0, want 1"],
    ['the cluster name "default" (no shared default name)', ['clusterName=default'], "at '/clusterName': 'not' failed"],
    // The selector becomes CEL in the node agent's admission policy: only label characters pass.
    ['a device plugin selector with a character labels cannot have', ['nodeAgent.devicePlugin.labelSelector=app=sriov;dp'], "at '/nodeAgent/devicePlugin/labelSelector': 'app=sriov;dp' does not match pattern"],
    ['no controller replica', ['controller.replicas=0'], "at '/controller/replicas': minimum: got 0, want 1"],
    ['an unknown component', ['controller.components={worker,sweeper}'], "at '/controller/components/1'"],
    ['a relative host path', ['nodeAgent.hostPaths.sys=sys'], "at '/nodeAgent/hostPaths/sys': 'sys' does not match pattern"],
    ['an IMDS endpoint that is not http(s)', ['nodeAgent.imdsEndpoint=ftp://169.254.169.254'], "at '/nodeAgent/imdsEndpoint'"],
    ['a device plugin selector with spaces', ['nodeAgent.devicePlugin.labelSelector=app in (sriovdp)'], "at '/nodeAgent/devicePlugin/labelSelector'"],
    ['an IRSA annotation that is not a role ARN', ['controller.iamRoleArn=my-role'], "at '/controller/iamRoleArn': 'my-role' does not match pattern"],
  ])('rejects %s, naming the field (helm lint and helm template)', async (_what, set, message) => {
    const lint = await helm(['lint', CHART_DIR, '-f', clusterNameValues(), ...set.flatMap((s) => ['--set', s])]);
    expect(lint.code).not.toBe(0);
    expect(lint.stdout).toContain("values don't meet the specifications of the schema(s)");
    expect(lint.stdout).toContain(message);
    const template = await helm(['template', 'rel', CHART_DIR, '-f', clusterNameValues(), ...set.flatMap((s) => ['--set', s])]);
    expect(template.code).not.toBe(0);
    expect(template.stderr).toContain(message);
  }, T);

  it.each([
    [
      'several replicas running the watcher without leader election',
      ['controller.leaderElection.enabled=false'],
      'controller.leaderElection.enabled: must be true when controller.replicas is 2 and the replicas run the watcher',
    ],
    ['no Temporal address and no Temporal in the release', ['temporalConnection.address='], 'temporalConnection.address: set the Temporal frontend address (host:port), or install with Temporal (helm/multi-eni-with-temporal)'],
    [
      'a Temporal in the release while the address points elsewhere',
      ['temporal.enabled=true'],
      'temporalConnection.address: "temporal-frontend.temporal.svc:7233" is not a frontend of the Temporal installed with the controller (temporal.enabled: true, frontends rel-temporal-frontend, rel-temporal-internal-frontend)',
    ],
  ])('helm template refuses %s with a message naming the field', async (_what, set, message) => {
    const r = await helm(['template', 'rel', CHART_DIR, '-f', clusterNameValues(), ...set.flatMap((s) => ['--set', s])]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(message);
  }, T);

  it('refuses to render without clusterName, naming it (helm lint, helm template, install; and the templates themselves when the schema is skipped)', async () => {
    const lint = await helm(['lint', CHART_DIR]);
    expect(lint.code).not.toBe(0);
    expect(lint.stdout).toContain("at '': missing property 'clusterName'");
    const template = await helm(['template', 'rel', CHART_DIR]);
    expect(template.code).not.toBe(0);
    expect(template.stdout).toBe('');
    expect(template.stderr).toContain("at '': missing property 'clusterName'");
    const install = await helm(['install', 'rel', CHART_DIR, '--dry-run=client', '--namespace', 'multi-eni', '--kubeconfig', state.kube.kubeconfig]);
    expect(install.code).not.toBe(0);
    expect(install.stderr).toContain("at '': missing property 'clusterName'");
    // The examples each name their cluster; without them nothing does.
    for (const f of EXAMPLES) expect(loadYaml<{ clusterName?: string }>(fs.readFileSync(path.join(EXAMPLES_DIR, f), 'utf8')).clusterName).toMatch(CLUSTER_NAME_PATTERN);
    const skipped = await helm(['template', 'rel', CHART_DIR, '--skip-schema-validation']);
    expect(skipped.code).not.toBe(0);
    expect(skipped.stderr).toContain('clusterName: required, no default: set the name of this cluster (--set clusterName=<name>');
    const skippedDefault = await helm(['template', 'rel', CHART_DIR, '--skip-schema-validation', '--set', 'clusterName=default']);
    expect(skippedDefault.code).not.toBe(0);
    expect(skippedDefault.stderr).toContain('clusterName: "default" is refused: give each cluster sharing an AWS account its own name');
  }, T);

  it("clusterName's pattern is the controller's CLUSTER_NAME pattern (workers/cluster-name.ts)", () => {
    const schema = JSON.parse(fs.readFileSync(path.join(CHART_DIR, 'values.schema.json'), 'utf8')) as { properties: { clusterName: { pattern: string } } };
    expect(schema.properties.clusterName.pattern).toBe(CLUSTER_NAME_PATTERN.source);
  });

  it('accepts what those refusals point to', async () => {
    await render(CHART_DIR, { set: ['controller.leaderElection.enabled=false', 'controller.replicas=1'] });
    await render(CHART_DIR, { set: ['temporal.enabled=true', 'temporalConnection.address='] });
    await render(CHART_DIR, { set: ['temporalConnection.tls.enabled=true'] });
    await render(CHART_DIR, { set: ['temporalConnection.tls.enabled=true', 'temporalConnection.tls.caSecret.name=temporal-ca'] });
  }, T);
});

// What each example must produce, beyond rendering: the Temporal connection as both components see it
// (the same variables: both read them with common/temporal-connection.ts).
const expectedTemporal: Record<string, { address: string; controller: Record<string, string>; agent: Record<string, string>; secrets: string[] }> = {
  'default values': { address: 'temporal-frontend.temporal.svc:7233', controller: {}, agent: {}, secrets: [] },
  'examples/external-temporal.yaml': {
    address: 'temporal-frontend.temporal.svc.cluster.local:7233',
    controller: {
      TEMPORAL_TLS: 'true',
      TEMPORAL_TLS_CERT: '/etc/multi-eni/temporal-client/tls.crt',
      TEMPORAL_TLS_KEY: '/etc/multi-eni/temporal-client/tls.key',
      TEMPORAL_TLS_CA: '/etc/multi-eni/temporal-ca/ca.crt',
    },
    agent: {
      TEMPORAL_TLS: 'true',
      TEMPORAL_TLS_CERT: '/etc/multi-eni/temporal-client/tls.crt',
      TEMPORAL_TLS_KEY: '/etc/multi-eni/temporal-client/tls.key',
      TEMPORAL_TLS_CA: '/etc/multi-eni/temporal-ca/ca.crt',
    },
    secrets: ['temporal-client', 'temporal-ca'],
  },
  'examples/temporal-cloud-api-key.yaml': {
    address: 'us-east-1.aws.api.temporal.io:7233',
    controller: { TEMPORAL_TLS: 'true', TEMPORAL_API_KEY: 'secret:temporal-cloud/api-key' },
    agent: { TEMPORAL_TLS: 'true', TEMPORAL_API_KEY: 'secret:temporal-cloud/api-key' },
    secrets: [],
  },
  'examples/temporal-cloud-mtls.yaml': {
    address: 'multi-eni.a1b2c.tmprl.cloud:7233',
    controller: { TEMPORAL_TLS: 'true', TEMPORAL_TLS_CERT: '/etc/multi-eni/temporal-client/tls.crt', TEMPORAL_TLS_KEY: '/etc/multi-eni/temporal-client/tls.key' },
    agent: { TEMPORAL_TLS: 'true', TEMPORAL_TLS_CERT: '/etc/multi-eni/temporal-client/tls.crt', TEMPORAL_TLS_KEY: '/etc/multi-eni/temporal-client/tls.key' },
    secrets: ['temporal-cloud-client'],
  },
};

const pick = (env: Record<string, string>, prefix: string) => Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith(prefix)));

describe('helm template', () => {
  it('every example has its expectations here', () => {
    expect(Object.keys(expectedTemporal).sort()).toEqual(cases.map(([n]) => n).sort());
  });

  it.each(cases)('renders %s: the expected objects and Temporal connection', async (name, files) => {
    const { objects } = await render(CHART_DIR, { valuesFiles: files, includeCrds: true });
    const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(kinds).toEqual(
      [
        'CustomResourceDefinition/nodeenis.networking.k8s.aws',
        'CustomResourceDefinition/nodeeniattachments.networking.k8s.aws',
        'ServiceAccount/rel-multi-eni-controller-controller',
        'ServiceAccount/rel-multi-eni-controller-node-agent',
        'ClusterRole/rel-multi-eni-controller-controller',
        'ClusterRoleBinding/rel-multi-eni-controller-controller',
        'Role/rel-multi-eni-controller-controller-events',
        'RoleBinding/rel-multi-eni-controller-controller-events',
        'Role/rel-multi-eni-controller-controller-lease',
        'RoleBinding/rel-multi-eni-controller-controller-lease',
        'Role/rel-multi-eni-controller-node-agent',
        'RoleBinding/rel-multi-eni-controller-node-agent',
        'ValidatingAdmissionPolicy/rel-multi-eni-controller-node-agent-pod-delete',
        'ValidatingAdmissionPolicyBinding/rel-multi-eni-controller-node-agent-pod-delete',
        'Deployment/rel-multi-eni-controller-controller',
        'DaemonSet/rel-multi-eni-controller-node-agent',
        'Service/rel-multi-eni-controller-controller-metrics',
        'PodDisruptionBudget/rel-multi-eni-controller-controller',
      ].sort(),
    );
    const exp = expectedTemporal[name]!;
    const ctl = envOf(find(objects, 'Deployment'));
    const agent = envOf(find(objects, 'DaemonSet'));
    for (const env of [ctl, agent]) expect(env.TEMPORAL_ADDRESS).toBe(exp.address);
    expect(ctl.TEMPORAL_NAMESPACE).toBe(agent.TEMPORAL_NAMESPACE);
    const { TEMPORAL_ADDRESS: _a, TEMPORAL_NAMESPACE: _n, ...ctlRest } = pick(ctl, 'TEMPORAL_');
    const { TEMPORAL_ADDRESS: _b, TEMPORAL_NAMESPACE: _m, ...agentRest } = pick(agent, 'TEMPORAL_');
    expect(ctlRest).toEqual(exp.controller);
    expect(agentRest).toEqual(exp.agent);
    for (const o of [find(objects, 'Deployment'), find(objects, 'DaemonSet')]) {
      expect((podSpec(o).volumes ?? []).filter((v) => v.secret).map((v) => v.secret!.secretName)).toEqual(exp.secrets);
    }
  }, T);

  it.each(cases)('%s: the node agent environment is exactly what node-agent/config.ts reads, and it parses', async (_name, files) => {
    const { objects } = await render(CHART_DIR, { valuesFiles: files });
    const env = envOf(find(objects, 'DaemonSet'));
    const known = Object.keys(NodeAgentEnvSchema.shape);
    expect(Object.keys(env).filter((k) => !known.includes(k))).toEqual([]);
    expect(env.NODE_NAME).toBe('field:spec.nodeName');
    const concrete = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, k === 'NODE_NAME' ? 'ip-10-0-1-23.ec2.internal' : v.startsWith('secret:') ? 'dummy-secret' : v]));
    const parsed = NodeAgentEnvSchema.safeParse(concrete);
    expect(parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([]);
  }, T);

  it.each(cases)('%s: the controller process accepts the rendered environment (workers/controller.ts ControllerEnvSchema)', async (_name, files) => {
    const { objects } = await render(CHART_DIR, { valuesFiles: files });
    const result = await startControllerWith(envOf(find(objects, 'Deployment')));
    expect(result).toEqual({ configAccepted: true, output: expect.any(String) });
  }, T);

  it('the EC2 budget and rate limit values: the scale split across replicas, overrides as JSON, the rate limit only when set; the controller accepts them', async () => {
    const { objects } = await render(CHART_DIR, {
      set: [
        'controller.replicas=4',
        'aws.ec2RateLimit=15',
        'aws.ec2Budget.overrides.AttachNetworkInterface.capacity=100',
        'aws.ec2Budget.overrides.AttachNetworkInterface.ratePerSecond=10',
      ],
    });
    const env = envOf(find(objects, 'Deployment'));
    expect(env).toMatchObject({ EC2_RATE_LIMIT: '15', EC2_BUDGET_SCALE: '0.25' });
    expect(JSON.parse(env.EC2_BUDGET_OVERRIDES!)).toEqual({ AttachNetworkInterface: { capacity: 100, ratePerSecond: 10 } });
    expect(await startControllerWith(env)).toEqual({ configAccepted: true, output: expect.any(String) });
  }, T);

  it('the readiness gate values: the controller env only when enabled, the node selector as k=v terms; the controller accepts them; a bad label is refused by the schema', async () => {
    const off = envOf(find((await render(CHART_DIR)).objects, 'Deployment'));
    expect(Object.keys(off).filter((k) => k.startsWith('READINESS_GATE'))).toEqual([]);
    const { objects } = await render(CHART_DIR, {
      set: ['readinessGate.enabled=true', 'readinessGate.taint=example.com/interfaces', 'readinessGate.label.value=up', 'readinessGate.nodeSelector.pool=telco', 'readinessGate.nodeSelector.multus=yes'],
    });
    const env = envOf(find(objects, 'Deployment'));
    expect(env).toMatchObject({
      READINESS_GATE: 'true',
      READINESS_GATE_TAINT: 'example.com/interfaces',
      READINESS_GATE_LABEL: 'multi-eni.networking.k8s.aws/ready=up',
      READINESS_GATE_NODE_SELECTOR: 'multus=yes,pool=telco',
    });
    expect(await startControllerWith(env)).toEqual({ configAccepted: true, output: expect.any(String) });
    const bad = await helm(['template', 'rel', CHART_DIR, '-f', clusterNameValues(), '--set', 'readinessGate.enabled=true', '--set', 'readinessGate.label.value=no way']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("at '/readinessGate/label/value': 'no way' does not match pattern");
  }, T);

  it('the same check refuses a bad environment (so it can fail)', async () => {
    const { objects } = await render(CHART_DIR);
    const env = { ...envOf(find(objects, 'Deployment')), EC2_RATE_LIMIT: '-1', COMPONENTS: 'worker,sweeper' };
    const result = await startControllerWith(env);
    expect(result.configAccepted).toBe(false);
    expect(result.output).toContain('invalid configuration');
    expect(result.output).toContain('EC2_RATE_LIMIT');
    expect(result.output).toContain('COMPONENTS');
    // CLUSTER_NAME has no default: without it the controller refuses to start, naming the variable.
    const { CLUSTER_NAME, ...withoutClusterName } = envOf(find(objects, 'Deployment'));
    expect(CLUSTER_NAME).toBe(TEST_CLUSTER_NAME);
    const unnamed = await startControllerWith(withoutClusterName);
    expect(unnamed.configAccepted).toBe(false);
    expect(unnamed.output).toContain('invalid configuration:\n  CLUSTER_NAME: required: the name of this cluster');
  }, T);

  it('the controller Deployment: one process for watcher + worker, leader election, probes and metrics', async () => {
    const { objects } = await render(CHART_DIR, { set: ['controller.iamRoleArn=arn:aws:iam::111122223333:role/multi-eni'] });
    const deploy = find(objects, 'Deployment');
    const spec = podSpec(deploy);
    const c = spec.containers[0]! as unknown as Record<string, unknown> & { args: string[]; ports: { name: string; containerPort: number }[] };
    expect(c.args).toEqual(['dist/workers/controller.js']);
    expect((deploy as unknown as { spec: { replicas: number } }).spec.replicas).toBe(2);
    const env = envOf(deploy);
    expect(env).toMatchObject({
      COMPONENTS: 'worker,watcher',
      LEADER_ELECTION: 'true',
      LEASE_NAME: 'multi-eni-watcher',
      POD_NAMESPACE: 'field:metadata.namespace',
      METRICS_PORT: '9090',
      // Two replicas share the release's EC2 budget; no task-queue rate limit unless aws.ec2RateLimit is set.
      EC2_BUDGET_SCALE: '0.5',
      MAX_CONCURRENT_ACTIVITIES: '1000',
      MAX_CACHED_WORKFLOWS: '150',
      AWS_REGION: 'us-east-1',
      CLUSTER_NAME: TEST_CLUSTER_NAME,
      AWS_EC2_METADATA_V1_DISABLED: 'true',
    });
    expect(env.EC2_RATE_LIMIT).toBeUndefined();
    expect(env.EC2_BUDGET_OVERRIDES).toBeUndefined();
    expect(c.ports).toEqual([{ name: 'metrics', containerPort: 9090, protocol: 'TCP' }]);
    expect(c.livenessProbe).toMatchObject({ httpGet: { path: '/healthz', port: 'metrics' } });
    expect(c.readinessProbe).toMatchObject({ httpGet: { path: '/readyz', port: 'metrics' } });
    expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(spec.hostNetwork).toBeUndefined();
    expect(spec.serviceAccountName).toBe('rel-multi-eni-controller-controller');
    const svc = find(objects, 'Service');
    expect(svc.metadata.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090', 'prometheus.io/path': '/metrics' });
    // IRSA on the controller's ServiceAccount only; the node agent has its own ServiceAccount and no AWS role.
    expect(find(objects, 'ServiceAccount', '-controller').metadata.annotations).toEqual({ 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/multi-eni' });
    expect(find(objects, 'ServiceAccount', '-node-agent').metadata.annotations).toBeUndefined();
  }, T);

  it('the controller Deployment rolls by surging a pod, except in the host network, where a surge pod would need the same ports', async () => {
    const strategy = async (set: string[]) => (find((await render(CHART_DIR, { set })).objects, 'Deployment') as unknown as { spec: { strategy: unknown } }).spec.strategy;
    expect(await strategy([])).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    expect(await strategy(['controller.hostNetwork=true'])).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
  }, T);

  it('the node agent DaemonSet: host network, node name from the downward API, only the host mounts and privileges it needs', async () => {
    const { objects } = await render(CHART_DIR);
    const ds = find(objects, 'DaemonSet');
    const spec = podSpec(ds);
    const c = spec.containers[0]!;
    expect(c.args).toEqual(['dist/workers/node-agent.js']);
    expect(spec.hostNetwork).toBe(true);
    expect(spec.dnsPolicy).toBe('ClusterFirstWithHostNet');
    expect(spec.serviceAccountName).toBe('rel-multi-eni-controller-node-agent');
    expect(spec.nodeSelector).toEqual({ ng: 'multi-eni' });
    expect(spec.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(envOf(ds)).toMatchObject({ NODE_NAME: 'field:spec.nodeName', HOST_SYS: '/host/sys', PCIDP_CONFIG: '/etc/pcidp/config.json', NODE_AGENT_STATE_DIR: '/var/lib/multi-eni' });
    expect((spec.volumes ?? []).filter((v) => v.hostPath).map((v) => [v.name, v.hostPath!.path])).toEqual([
      ['host-sys', '/sys'],
      ['pcidp', '/etc/pcidp'],
      ['state', '/var/lib/multi-eni'],
    ]);
    expect(c.securityContext).toEqual({
      runAsUser: 0,
      runAsNonRoot: false,
      readOnlyRootFilesystem: true,
      privileged: false,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'], add: ['NET_ADMIN'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    // Its health and metrics endpoint: the port, and the probes on it.
    expect(envOf(ds)).toMatchObject({ METRICS_PORT: '9470' });
    expect(c.ports).toEqual([{ name: 'metrics', containerPort: 9470, protocol: 'TCP' }]);
    expect(c.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    const moved = podSpec(find((await render(CHART_DIR, { set: ['nodeAgent.health.port=19470'] })).objects, 'DaemonSet')).containers[0]!;
    expect([moved.ports?.[0]?.containerPort, moved.env?.find((e) => e.name === 'METRICS_PORT')?.value]).toEqual([19470, '19470']);
    const privileged = podSpec(find((await render(CHART_DIR, { set: ['nodeAgent.privileged=true'] })).objects, 'DaemonSet')).containers[0]!.securityContext;
    expect(privileged).toEqual({ runAsUser: 0, runAsNonRoot: false, readOnlyRootFilesystem: true, privileged: true });
  }, T);

  it('RBAC as rendered: the controller reads nodes, patches NodeENIs and their status; the node agent has no cluster-wide rights', async () => {
    const { objects } = await render(CHART_DIR, { set: ['nodeAgent.devicePlugin.namespace=sriov'] });
    const rules = (o: K8sObject) => (o as unknown as { rules: unknown[] }).rules;
    expect(objects.filter((o) => o.kind === 'ClusterRole').map((o) => o.metadata.name)).toEqual(['rel-multi-eni-controller-controller']);
    expect(rules(find(objects, 'ClusterRole'))).toEqual([
      { apiGroups: ['networking.k8s.aws'], resources: ['nodeenis'], verbs: ['get', 'list', 'watch', 'patch'] },
      { apiGroups: ['networking.k8s.aws'], resources: ['nodeenis/status'], verbs: ['patch'] },
      { apiGroups: ['networking.k8s.aws'], resources: ['nodeeniattachments'], verbs: ['list', 'watch', 'create', 'patch', 'delete'] },
      { apiGroups: [''], resources: ['nodes'], verbs: ['list', 'watch'] },
    ]);
    const subjects = (o: K8sObject) => (o as unknown as { subjects: { name: string }[] }).subjects.map((s) => s.name);
    expect(objects.filter((o) => o.kind === 'ClusterRoleBinding').flatMap(subjects)).toEqual(['rel-multi-eni-controller-controller']);
    const events = find(objects, 'Role', '-controller-events');
    expect(events.metadata.namespace).toBe('default');
    expect(rules(events)).toEqual([{ apiGroups: [''], resources: ['events'], verbs: ['create'] }]);
    const lease = find(objects, 'Role', '-controller-lease');
    expect(lease.metadata.namespace).toBe('multi-eni');
    expect(rules(lease)).toEqual([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['multi-eni-watcher'], verbs: ['get', 'update'] },
    ]);
    const agent = find(objects, 'Role', '-node-agent');
    expect(agent.metadata.namespace).toBe('sriov');
    expect(rules(agent)).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['list', 'delete'] }]);
    expect(subjects(find(objects, 'RoleBinding', '-node-agent'))).toEqual(['rel-multi-eni-controller-node-agent']);
    // Without leader election (one replica) there is no Lease to touch, so no Lease rights either.
    const single = await render(CHART_DIR, { set: ['controller.replicas=1', 'controller.leaderElection.enabled=false'] });
    expect(single.objects.filter((o) => o.metadata.name.endsWith('-lease'))).toEqual([]);
    expect(single.objects.filter((o) => o.kind === 'PodDisruptionBudget')).toEqual([]);
  }, T);

  it("the node agent's pod-delete admission policy: on by default, bound to the agent's ServiceAccount, the device plugin selector as CEL; off by a switch", async () => {
    const { objects } = await render(CHART_DIR, { set: ['nodeAgent.devicePlugin.namespace=sriov', 'nodeAgent.devicePlugin.labelSelector=app=sriovdp\\,!legacy\\,tier!=canary\\,x'] });
    type Policy = {
      spec: {
        failurePolicy: string;
        matchConstraints: { resourceRules: unknown[] };
        matchConditions: { expression: string }[];
        validations: { expression: string; reason: string }[];
      };
    };
    const policy = find(objects, 'ValidatingAdmissionPolicy') as unknown as Policy & K8sObject;
    expect(policy.metadata.name).toBe('rel-multi-eni-controller-node-agent-pod-delete');
    expect(policy.spec.failurePolicy).toBe('Fail');
    expect(policy.spec.matchConstraints.resourceRules).toEqual([{ apiGroups: [''], apiVersions: ['v1'], operations: ['DELETE'], resources: ['pods'] }]);
    expect(policy.spec.matchConditions.map((c) => c.expression)).toEqual(["request.userInfo.username == 'system:serviceaccount:multi-eni:rel-multi-eni-controller-node-agent'"]);
    expect(policy.spec.validations.map((v) => v.reason)).toEqual(['Forbidden', 'Forbidden', 'Forbidden']);
    expect(policy.spec.validations[2]!.expression).toBe(
      "request.namespace == 'sriov' && ('app' in variables.labels && variables.labels['app'] == 'sriovdp') && !('legacy' in variables.labels) && (!('tier' in variables.labels) || variables.labels['tier'] != 'canary') && ('x' in variables.labels)",
    );
    const binding = find(objects, 'ValidatingAdmissionPolicyBinding') as unknown as { spec: { policyName: string; validationActions: string[] } };
    expect(binding.spec).toEqual({ policyName: 'rel-multi-eni-controller-node-agent-pod-delete', validationActions: ['Deny'] });
    // The apiserver compiles every CEL expression on create: a server-side dry run proves they compile.
    const dry = await kubectl(state.kube.kubeconfig, ['apply', '--dry-run=server', '-f', '-'], { input: manifestsYaml(objects.filter((o) => o.kind.startsWith('ValidatingAdmissionPolicy'))) });
    expect(dry.stderr).toBe('');
    expect(dry.stdout.trim().split('\n')).toHaveLength(2);
    // Off (clusters before 1.30): neither object; the agent keeps its plain Role.
    const off = await render(CHART_DIR, { set: ['nodeAgent.devicePlugin.admissionPolicy.enabled=false'] });
    expect(off.objects.filter((o) => o.kind.startsWith('ValidatingAdmissionPolicy'))).toEqual([]);
    expect(find(off.objects, 'Role', '-node-agent')).toBeDefined();
    // No node agent, no policy for it.
    const noAgent = await render(CHART_DIR, { set: ['nodeAgent.enabled=false'] });
    expect(noAgent.objects.filter((o) => o.kind.startsWith('ValidatingAdmissionPolicy'))).toEqual([]);
  }, T);

  it('NOTES.txt tells how to open the Temporal Web UI and check NodeENIs', async () => {
    // As helm/multi-eni-with-temporal renders it: a Temporal in the same release.
    const dep = await helm(['install', 'rel', CHART_DIR, '--dry-run=client', '--namespace', 'multi-eni', '--kubeconfig', state.kube.kubeconfig, '-f', clusterNameValues(), '--set', 'temporal.enabled=true', '--set', 'temporalConnection.address=']);
    expect(dep.code).toBe(0);
    const notes = dep.stdout.slice(dep.stdout.indexOf('NOTES:'));
    expect(notes).toContain('kubectl get nodeenis -o wide');
    expect(notes).toContain('kubectl -n multi-eni port-forward svc/rel-temporal-web 8080:8080');
    const cloud = await helm(['install', 'rel', CHART_DIR, '--dry-run=client', '--namespace', 'multi-eni', '--kubeconfig', state.kube.kubeconfig, '-f', path.join(EXAMPLES_DIR, 'temporal-cloud-api-key.yaml')]);
    expect(cloud.code).toBe(0);
    expect(cloud.stdout).toContain('https://cloud.temporal.io/namespaces/multi-eni.a1b2c/workflows');
    expect(cloud.stdout).toContain('tcld namespace search-attributes add --namespace multi-eni.a1b2c');
    const plain = await helm(['install', 'rel', CHART_DIR, '--dry-run=client', '--namespace', 'multi-eni', '--kubeconfig', state.kube.kubeconfig, '-f', clusterNameValues()]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain('kubectl -n temporal port-forward svc/temporal-web 8080:8080');
    expect(plain.stdout).toContain(`Cluster:   ${TEST_CLUSTER_NAME} (tag multi-eni.networking.k8s.aws/cluster on every ENI this controller manages)`);
  }, T);
});

describe('the rendered manifests against the real kube-apiserver', () => {
  it.each(cases)('server-side dry run accepts every object of %s, the CRD included', async (_name, files) => {
    const ns = await testNamespace(`helm-dry-${EXAMPLES.indexOf(path.basename(files[0] ?? '')) + 1}`);
    const { objects, yaml } = await render(CHART_DIR, { namespace: ns, valuesFiles: files, includeCrds: true });
    const r = await kubectl(state.kube.kubeconfig, ['apply', '--dry-run=server', '-f', '-'], { input: yaml });
    expect(r.stderr.split('\n').filter((l) => l && !l.includes('last-applied-configuration'))).toEqual([]);
    expect(r.code).toBe(0);
    const applied = r.stdout.trim().split('\n');
    expect(applied).toHaveLength(objects.length);
    for (const line of applied) expect(line).toMatch(/ (created|configured|unchanged) \(server dry run\)$/);
    expect(applied.some((l) => l.startsWith('customresourcedefinition.apiextensions.k8s.io/nodeenis.networking.k8s.aws '))).toBe(true);
  }, T);

  it('Pod Security: the controller meets "restricted"; the node agent asks for exactly host network, host paths, root and NET_ADMIN', async () => {
    const ns = await testNamespace('helm-psa', { 'pod-security.kubernetes.io/warn': 'restricted', 'pod-security.kubernetes.io/warn-version': 'latest' });
    const { objects } = await render(CHART_DIR, { namespace: ns });
    const controller = await kubectl(state.kube.kubeconfig, ['apply', '--dry-run=server', '-f', '-'], { input: manifestsYaml([find(objects, 'Deployment')]) });
    expect(controller.code).toBe(0);
    expect(controller.stderr).toBe('');
    const agent = await kubectl(state.kube.kubeconfig, ['apply', '--dry-run=server', '-f', '-'], { input: manifestsYaml([find(objects, 'DaemonSet')]) });
    expect(agent.code).toBe(0);
    const warning = agent.stderr.trim();
    expect(warning).toMatch(/^Warning: would violate PodSecurity "restricted:latest": /);
    const violations = warning
      .replace(/^Warning: would violate PodSecurity "restricted:latest": /, '')
      .split(/, (?=[a-z][a-zA-Z ]+(?:=\d+|!= true)? \()/)
      .map((v) => v.replace(/ \(.*$/, ''))
      .sort();
    expect(violations).toEqual(['host namespaces', 'restricted volume types', 'runAsNonRoot != true', 'runAsUser=0', 'unrestricted capabilities']);
    expect(warning).toContain('hostNetwork=true');
    expect(warning).toContain('volumes "host-sys", "pcidp", "state" use restricted volume type "hostPath"');
    expect(warning).toContain('must not include "NET_ADMIN"');
    expect(warning).not.toContain('privileged');
  }, T);
});

/** Starts dist/workers/controller.js with a rendered environment until its metrics server answers (config parsed). */
async function startControllerWith(rendered: Record<string, string>): Promise<{ configAccepted: boolean; output: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mec-env-'));
  // A throwaway certificate pair, so the TLS settings load as they would from the mounted Secrets.
  const files = { TEMPORAL_TLS_CERT: path.join(dir, 'tls.crt'), TEMPORAL_TLS_KEY: path.join(dir, 'tls.key'), TEMPORAL_TLS_CA: path.join(dir, 'tls.crt') };
  const openssl = await run('/usr/bin/env', ['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', files.TEMPORAL_TLS_KEY, '-out', files.TEMPORAL_TLS_CERT, '-days', '1', '-subj', '/CN=multi-eni-test']);
  if (openssl.code !== 0) throw new Error(`openssl: ${openssl.stderr}`);
  const port = await freePortPair();
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(rendered)) {
    if (v.startsWith('secret:')) env[k] = 'dummy-secret';
    else if (v.startsWith('field:')) env[k] = 'multi-eni';
    else env[k] = v;
  }
  // Only what cannot work here is replaced: files the pod would mount, a port, and an unreachable Temporal.
  for (const [k, file] of Object.entries(files)) if (env[k]) env[k] = file;
  Object.assign(env, { TEMPORAL_ADDRESS: '127.0.0.1:9', METRICS_PORT: String(port), KUBECONFIG: state.kube.kubeconfig });
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'dist', 'workers', 'controller.js')], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) =>
    child.on('exit', (code) => {
      exitCode = code;
      resolve();
    }),
  );
  try {
    const deadline = Date.now() + 60000;
    while (Date.now() < deadline && exitCode === undefined) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1000) });
        if (r.status === 200 || r.status === 503) return { configAccepted: true, output };
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    if (exitCode === undefined) throw new Error(`controller neither served /healthz nor exited within 60 s:\n${output}`);
    return { configAccepted: false, output };
  } finally {
    if (exitCode === undefined) {
      child.kill('SIGKILL');
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

