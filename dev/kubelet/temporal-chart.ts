// The Temporal Helm chart on the local kubelet node (test/kubelet-temporal.test.ts): the values that run its pods
// here, and the admission policies that stand in for what this node lacks.
//
// The node has no pod network, no kube-proxy and no cluster DNS (see README.md beside this file), so:
// - every pod of the release runs in the host network, set at admission by a MutatingAdmissionPolicy bound to the
//   release's namespace (Helm does not post-render hooks, and the schema Job is one), and the policy adds host
//   aliases so the Services' names (short, <name>.<ns>, <name>.<ns>.svc, ….cluster.local) resolve to 127.0.0.1,
//   where each service listens: no chart object is changed;
// - the services' ports come from the chart's values, moved off the defaults onto the stack's port base; the ports
//   the chart fixes (metrics 9090 in every server pod, the Web UI's 8080) are moved by a second policy, and the
//   programs told through values (the metrics listener in the config template; TEMPORAL_UI_PORT for ui-server);
// - the services broadcast 127.0.0.1 for membership (POD_IP overridden through additionalEnv: the last definition
//   of a variable wins), so Temporal's own traffic stays on loopback.
import { clusterLayout, type StackState } from '../stack/stack.js';

export const SERVER_IMAGE = 'localhost/temporal-server';
export const ADMIN_TOOLS_IMAGE = 'localhost/temporal-admin-tools';
export const UI_IMAGE = 'localhost/temporal-ui';

const SERVICES = ['frontend', 'history', 'matching', 'worker'] as const;
type Service = (typeof SERVICES)[number];

export interface ChartTemporalPorts {
  frontend: { grpc: number; membership: number; http: number };
  history: { grpc: number; membership: number };
  matching: { grpc: number; membership: number };
  worker: { grpc: number; membership: number };
  metrics: Record<Service, number>;
  web: number;
}

/** base + 82 … + 97: clear of the stack's ports (paths.ts, temporal-cluster.ts) and the node's (node.ts nodePorts). */
export function chartTemporalPorts(base = Number(process.env.MULTI_ENI_PORT_BASE ?? 17200)): ChartTemporalPorts {
  return {
    frontend: { grpc: base + 82, membership: base + 83, http: base + 84 },
    history: { grpc: base + 85, membership: base + 86 },
    matching: { grpc: base + 87, membership: base + 88 },
    worker: { grpc: base + 89, membership: base + 90 },
    metrics: { frontend: base + 91, history: base + 92, matching: base + 93, worker: base + 94 },
    web: base + 95,
  };
}

export interface ChartTemporalInput {
  ports: ChartTemporalPorts;
  serverVersion: string;
  uiVersion: string;
  /** PostgreSQL on loopback (the stack's), and the databases this release creates in it. */
  postgresPort: number;
  databases: { default: string; visibility: string };
  /** A Secret in the release namespace with the database password under `password`. */
  passwordSecret: string;
  numHistoryShards?: number;
}

/** The `temporal:` values of helm/multi-eni-with-temporal for this node. */
export function chartTemporalValues(c: ChartTemporalInput): Record<string, unknown> {
  const store = (databaseName: string) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `127.0.0.1:${c.postgresPort}`,
      connectProtocol: 'tcp',
      user: 'temporal',
      existingSecret: c.passwordSecret,
      secretKey: 'password',
      createDatabase: true,
      manageSchema: true,
      maxConns: 10,
      maxIdleConns: 10,
      maxConnLifetime: '1h',
    },
  });
  const image = (repository: string, tag: string) => ({ repository, tag, pullPolicy: 'Never' });
  const service = (s: Service) => ({
    service: s === 'frontend' ? { port: c.ports.frontend.grpc, membershipPort: c.ports.frontend.membership, httpPort: c.ports.frontend.http } : { port: c.ports[s].grpc, membershipPort: c.ports[s].membership },
    additionalEnv: [
      { name: 'POD_IP', value: '127.0.0.1' },
      { name: 'TEMPORAL_METRICS_PORT', value: String(c.ports.metrics[s]) },
    ],
  });
  return {
    server: {
      image: image(SERVER_IMAGE, c.serverVersion),
      ...Object.fromEntries(SERVICES.map((s) => [s, service(s)])),
      config: {
        // The config template is rendered by the server itself (`# enable-template`): each service's own port.
        metrics: { prometheus: { timerType: 'histogram', listenAddress: '127.0.0.1:{{ env "TEMPORAL_METRICS_PORT" }}' } },
        persistence: {
          defaultStore: 'default',
          visibilityStore: 'visibility',
          numHistoryShards: c.numHistoryShards ?? 4,
          datastores: { default: store(c.databases.default), visibility: store(c.databases.visibility) },
        },
      },
    },
    admintools: { image: image(ADMIN_TOOLS_IMAGE, c.serverVersion) },
    web: {
      image: image(UI_IMAGE, c.uiVersion),
      additionalEnv: [{ name: 'TEMPORAL_UI_PORT', value: String(c.ports.web) }],
    },
  };
}

/** Every name a Service is reached by from a pod of its namespace. */
export function serviceHostnames(services: string[], namespace: string): string[] {
  return services.flatMap((s) => [s, `${s}.${namespace}`, `${s}.${namespace}.svc`, `${s}.${namespace}.svc.cluster.local`]);
}

type K8sObject = { apiVersion: string; kind: string; metadata: { name: string }; spec: Record<string, unknown> };

/**
 * The admission policies of the release namespace (cluster-scoped objects, named after it): every pod in the host
 * network with the Services' names on 127.0.0.1; and the container ports the chart fixes (the services' metrics on
 * 9090, the Web UI on 8080), which in one host network would collide, moved to the ports this node gives them
 * (`moves`: by the pod's app.kubernetes.io/component, the port's name and its new number).
 */
export function hostNetworkPolicies(o: { namespace: string; hostnames: string[]; moves: Record<string, { port: string; to: number }> }): K8sObject[] {
  const name = `host-network-${o.namespace}`;
  const portsName = `fixed-ports-${o.namespace}`;
  const pods = { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }] };
  const binding = (policyName: string): K8sObject => ({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingAdmissionPolicyBinding',
    metadata: { name: policyName },
    spec: { policyName, matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': o.namespace } } } },
  });
  const policy = (policyName: string, spec: Record<string, unknown>): K8sObject => ({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingAdmissionPolicy',
    metadata: { name: policyName },
    spec: { matchConstraints: pods, failurePolicy: 'Fail', reinvocationPolicy: 'Never', ...spec },
  });
  const celMap = (m: Record<string, string | number>) => `{${Object.entries(m).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(', ')}}`;
  const moved = Object.entries(o.moves);
  const names = celMap(Object.fromEntries(moved.map(([c, m]) => [c, m.port])));
  // A list of objects as a JSONPatch value panics this apiserver's CEL conversion (1.36.3): the list is added
  // empty and the alias appended on its own.
  const hostnames = `[${o.hostnames.map((h) => JSON.stringify(h)).join(', ')}]`;
  return [
    policy(name, {
      mutations: [
        {
          patchType: 'JSONPatch',
          jsonPatch: {
            expression: [
              '[JSONPatch{op: "add", path: "/spec/hostNetwork", value: true},',
              ' JSONPatch{op: "add", path: "/spec/hostAliases", value: []},',
              ` JSONPatch{op: "add", path: "/spec/hostAliases/-", value: Object.spec.hostAliases{ip: "127.0.0.1", hostnames: ${hostnames}}}]`,
            ].join('\n'),
          },
        },
      ],
    }),
    binding(name),
    policy(portsName, {
      // (matchConditions cannot read variables: the component and its port name are spelled out there.)
      matchConditions: [
        { name: 'a-component-with-a-moved-port', expression: `has(object.metadata.labels) && object.metadata.labels[?"app.kubernetes.io/component"].orValue("") in ${names}` },
        {
          name: 'the-port-is-there',
          expression: `has(object.spec.containers[0].ports) && object.spec.containers[0].ports.exists(p, has(p.name) && p.name == ${names}[object.metadata.labels["app.kubernetes.io/component"]])`,
        },
      ],
      variables: [
        { name: 'component', expression: 'object.metadata.labels["app.kubernetes.io/component"]' },
        { name: 'to', expression: `${celMap(Object.fromEntries(moved.map(([c, m]) => [c, m.to])))}[variables.component]` },
        { name: 'index', expression: `object.spec.containers[0].ports.map(p, has(p.name) ? p.name : "").indexOf(${names}[variables.component])` },
      ],
      // hostPort too: in the host network it must equal containerPort, and the pod may already be defaulted.
      mutations: [
        {
          patchType: 'JSONPatch',
          jsonPatch: {
            expression:
              '[JSONPatch{op: "replace", path: "/spec/containers/0/ports/" + string(variables.index) + "/containerPort", value: variables.to},' +
              ' JSONPatch{op: "add", path: "/spec/containers/0/ports/" + string(variables.index) + "/hostPort", value: variables.to}]',
          },
        },
      ],
    }),
    binding(portsName),
  ];
}

/** The chart's fixed container ports, moved: each service's metrics port (named metrics) and the Web UI's (named http). */
export function fixedPortMoves(ports: ChartTemporalPorts): Record<string, { port: string; to: number }> {
  return { ...Object.fromEntries(SERVICES.map((s) => [s, { port: 'metrics', to: ports.metrics[s] }])), web: { port: 'http', to: ports.web } };
}

/** The stack's PostgreSQL port, which only the Temporal cluster stack runs. */
export function stackPostgresPort(s: StackState): number {
  if (s.temporal.mode !== 'cluster') throw new Error(`the stack in ${s.dir} runs the Temporal dev server, without PostgreSQL: start it with MULTI_ENI_TEMPORAL=cluster (npm test runs this suite in the cluster lane)`);
  return clusterLayout(s.dir, s.ports).ports.postgres;
}
