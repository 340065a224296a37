// `helm install` of helm/multi-eni-with-temporal with the real Temporal chart 1.6.0 on a real kubelet: the schema
// Job, the four Temporal services, the namespace Job and the Web UI run as pods from images built here
// (dev/image/temporal.sh), on the stack's PostgreSQL as the release's "RDS"; the controller and the node agent
// connect to that Temporal's frontend by the Service name the chart gives it, and a NodeENI converges and is
// released through those pods. Then `helm upgrade` and `helm uninstall`.
//
// The node has no pod network, no kube-proxy and no cluster DNS: dev/kubelet/temporal-chart.ts says how the pods
// still reach each other (host network and host aliases set at admission, ports from values), and README.md lists
// every deviation from EKS. Runs in the cluster lane: it needs the Temporal cluster stack's PostgreSQL.
import fs from 'node:fs';
import path from 'node:path';
import { DescribeNetworkInterfacesCommand } from '@aws-sdk/client-ec2';
import { Client, Connection } from '@temporalio/client';
import { BatchV1Api, type V1Pod } from '@kubernetes/client-node';
import { REPO_ROOT, TOOLS_BIN } from '../dev/stack/paths.js';
import { API_GROUP, API_VERSION, NODEENI_PLURAL } from '../common/names.js';
import type { NodeENI } from '../common/nodeeni.js';
import { seedManifest } from '../dev/demo/manifests.js';
import { chartTemporalPorts, chartTemporalValues, fixedPortMoves, hostNetworkPolicies, serviceHostnames, stackPostgresPort } from '../dev/kubelet/temporal-chart.js';
import { eventually, kubeClients, motoEc2, stack, temporalClient, uniq } from './support/env.js';
import { buildImages, containerStartedAt, controllerChartValues, exec, podReady, podSummary, podsOf, seconds, startChartNode, type ChartNode } from './support/kubelet.js';
import { parseManifests, umbrellaWithTemporal } from './helm/support.js';

const installSh = fs.readFileSync(path.join(REPO_ROOT, 'dev', 'stack', 'install.sh'), 'utf8');
const SERVER_VERSION = /^TEMPORAL_SERVER_VERSION="([0-9.]+)"/m.exec(installSh)![1]!;
const UI_VERSION = /^TEMPORAL_UI_VERSION="([0-9.]+)"/m.exec(installSh)![1]!;
const TEMPORAL_COMPONENTS = ['frontend', 'history', 'matching', 'worker', 'web'] as const;

/** The newest schema version in a store's versioned directory (v1.0 … v1.17): what this server's schema tool applies. */
function wantedSchemaVersion(store: 'temporal' | 'visibility'): string {
  const schema = path.join(path.dirname(fs.realpathSync(path.join(TOOLS_BIN, 'temporal-server'))), 'schema', 'postgresql', 'v12', store, 'versioned');
  const versions = fs.readdirSync(schema).map((d) => d.replace(/^v/, ''));
  return versions.sort((a, b) => a.localeCompare(b, undefined, { numeric: true })).pop()!;
}

describe('helm install with the real Temporal chart on a real kubelet: Temporal`s pods up, a NodeENI converged and released through them', () => {
  const runId = uniq('kt');
  const release = 'mewt';
  const namespace = runId;
  const taskQueue = `multi-eni-controller-${runId}`;
  const scheduleId = `fleet-${runId}`;
  const db = { default: `temporal_${runId.replace(/-/g, '_')}`, visibility: `temporal_visibility_${runId.replace(/-/g, '_')}` };
  const ports = chartTemporalPorts();
  const fullname = `${release}-temporal`;
  const ec2 = motoEc2();
  const k = kubeClients();
  const batch = k.kc.makeApiClient(BatchV1Api);
  const nodeENIName = `${runId}-jumbo`;
  let n: ChartNode | undefined;
  let chartDir = '';
  let valuesFile = '';
  let policiesFile = '';
  let installed = false;
  let uninstalled = false;
  let helmStarted = 0;
  let helmDone = 0;
  let pgPort = 0;
  const log = (l: string) => console.log(`[kubelet-temporal] ${l}`);
  const psql = (database: string, sql: string) => exec(path.join(TOOLS_BIN, 'pg-psql'), ['-h', '127.0.0.1', '-p', String(pgPort), '-U', 'temporal', '-d', database, '-Atc', sql]);
  const chartTemporal = async () => {
    const connection = await Connection.connect({ address: `127.0.0.1:${ports.frontend.grpc}` });
    return { client: new Client({ connection, namespace: 'default' }), connection };
  };
  const getNodeENI = async (): Promise<NodeENI | undefined> => {
    try {
      return (await k.custom.getClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODEENI_PLURAL, name: nodeENIName })) as NodeENI;
    } catch (e) {
      if ((e as { code?: number }).code === 404) return undefined;
      throw e;
    }
  };
  const temporalPods = async (): Promise<Record<string, V1Pod[]>> => Object.fromEntries(await Promise.all(TEMPORAL_COMPONENTS.map(async (c) => [c, await podsOf(namespace, c)] as const)));
  const failWithPods = async (e: Error): Promise<never> => {
    throw new Error(`${e.message}\n${await podSummary(namespace)}`);
  };

  beforeAll(async () => {
    const s = stack();
    pgPort = stackPostgresPort(s);
    const tarballs = [await buildImages('build.sh'), await buildImages('temporal.sh')];
    n = await startChartNode(runId, tarballs, log);
    chartDir = await umbrellaWithTemporal();

    const values = {
      'multi-eni-controller': {
        ...controllerChartValues(n, { runId, taskQueue, scheduleId }),
        // "": this release's frontend, by the Service name the Temporal chart gives it.
        temporalConnection: { address: '', namespace: 'default' },
        temporal: { enabled: true, server: { frontend: { service: { port: ports.frontend.grpc } } } },
      },
      temporal: chartTemporalValues({ ports, serverVersion: SERVER_VERSION, uiVersion: UI_VERSION, postgresPort: pgPort, databases: db, passwordSecret: 'temporal-db' }),
    };
    valuesFile = path.join(n.node.dir, 'values-with-temporal.json');
    fs.writeFileSync(valuesFile, JSON.stringify(values, null, 2));

    // The Services' names, from the chart as it renders with these values: each pod resolves them to 127.0.0.1.
    const rendered = parseManifests((await n.helm(['template', release, chartDir, '--namespace', namespace, '-f', valuesFile])).stdout);
    const services = rendered.filter((o) => o.kind === 'Service').map((o) => o.metadata.name);
    expect(services).toEqual(expect.arrayContaining([`${fullname}-frontend`, `${fullname}-web`]));
    policiesFile = path.join(n.node.dir, 'host-network-policies.json');
    fs.writeFileSync(policiesFile, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: hostNetworkPolicies({ namespace, hostnames: serviceHostnames(services, namespace), moves: fixedPortMoves(ports) }) }));
    await n.kubectl(['apply', '-f', policiesFile]);
    // As the RDS example asks: the namespace and the database password's Secret first. (PostgreSQL here trusts
    // loopback: the password is not checked, and TLS is off.)
    await n.kubectl(['create', 'namespace', namespace]);
    await n.kubectl(['-n', namespace, 'create', 'secret', 'generic', 'temporal-db', '--from-literal=password=not-checked-here']);
    await eventually('the controller-manager made the default service account', async () => (await k.core.listNamespacedServiceAccount({ namespace })).items.some((a) => a.metadata?.name === 'default'), 60000);
    // The policies are in effect once a dry-run pod comes back in the host network (the apiserver loads them asynchronously).
    await eventually(
      'host-network policy in effect',
      async () => {
        const p = await k.core.createNamespacedPod({ namespace, dryRun: 'All', body: { metadata: { name: 'probe', labels: { 'app.kubernetes.io/component': 'web' } }, spec: { containers: [{ name: 'c', image: 'x', ports: [{ name: 'http', containerPort: 8080 }] }] } } });
        return p.spec?.hostNetwork === true && p.spec.containers[0]?.ports?.[0]?.containerPort === ports.web;
      },
      60000,
      500,
    );
    const jumbo = seedManifest('jumbo-frames.yaml');
    await k.custom.createClusterCustomObject({
      group: API_GROUP,
      version: API_VERSION,
      plural: NODEENI_PLURAL,
      body: { ...jumbo, metadata: { name: nodeENIName, labels: { 'test-run': runId } }, spec: { ...jumbo.spec, nodeSelector: { ng: runId } } },
    });

    helmStarted = Date.now();
    // The schema Job is a pre-install hook: helm returns once it has completed and the release's objects exist.
    await n.helm(['install', release, chartDir, '--namespace', namespace, '-f', valuesFile, '--timeout', '10m']);
    installed = true;
    helmDone = Date.now();
    log(`helm install (schema hook included): ${seconds(helmDone - helmStarted)}`);
  }, 50 * 60000);

  afterAll(async () => {
    await k.custom.deleteClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODEENI_PLURAL, name: nodeENIName }).catch(() => undefined);
    if (n && installed && !uninstalled) {
      n.keepPodLogs();
      await eventually('NodeENI released', async () => (await getNodeENI()) === undefined, 90000).catch(() => undefined);
      await n.helm(['uninstall', release, '--namespace', namespace, '--wait', '--timeout', '180s']).catch(() => undefined);
    }
    if (n) {
      await n.kubectl(['delete', 'namespace', namespace, '--ignore-not-found', '--timeout=120s']).catch(() => undefined);
      if (policiesFile) await n.kubectl(['delete', '-f', policiesFile, '--ignore-not-found']).catch(() => undefined);
      await n.stop();
    }
    if (pgPort) for (const d of [db.default, db.visibility]) await psql('postgres', `DROP DATABASE IF EXISTS ${d} WITH (FORCE)`).catch(() => undefined);
    if (chartDir) fs.rmSync(path.dirname(chartDir), { recursive: true, force: true });
    ec2.destroy();
  }, 600000);

  it('the schema Job completed: both stores at the schema version this server wants', async () => {
    // The hook Job is deleted once it succeeds (hook-delete-policy hook-succeeded); helm install returning is its success.
    expect(installed).toBe(true);
    expect((await psql(db.default, 'SELECT curr_version FROM schema_version')).stdout.trim()).toBe(wantedSchemaVersion('temporal'));
    expect((await psql(db.visibility, 'SELECT curr_version FROM schema_version')).stdout.trim()).toBe(wantedSchemaVersion('visibility'));
  });

  it('frontend, history, matching, worker and web pods Running and Ready without restarts; the namespace Job done', async () => {
    const all = await eventually('Temporal pods ready', async () => {
      const p = await temporalPods();
      return TEMPORAL_COMPONENTS.every((c) => p[c]!.length === 1 && podReady(p[c]![0]!)) ? p : false;
    }, 300000, 1000).catch(failWithPods);
    for (const c of TEMPORAL_COMPONENTS) {
      const pod = all[c]![0]!;
      expect(pod.spec?.nodeName).toBe(n!.name);
      expect(pod.spec?.containers[0]?.image).toBe(c === 'web' ? `localhost/temporal-ui:${UI_VERSION}` : `localhost/temporal-server:${SERVER_VERSION}`);
      expect(pod.status?.containerStatuses?.map((s) => s.restartCount)).toEqual([0]);
      log(`${c}: started ${seconds(containerStartedAt(pod) - helmStarted)} after helm install began`);
    }
    const job = await eventually('namespace Job complete', async () => {
      const j = await batch.readNamespacedJob({ namespace, name: `${fullname}-namespace-1-6-0-1` });
      return (j.status?.succeeded ?? 0) >= 1 ? j : false;
    }, 180000, 1000).catch(failWithPods);
    expect(job.status?.succeeded).toBe(1);
    // Through the chart's frontend: the namespace exists, with the retention the values give.
    const { stdout } = await exec(path.join(TOOLS_BIN, 'temporal'), ['operator', 'namespace', 'describe', '-n', 'default', '--address', `127.0.0.1:${ports.frontend.grpc}`, '-o', 'json']);
    expect(JSON.parse(stdout).config?.workflowExecutionRetentionTtl).toBe('604800s');
  }, 600000);

  it('the controller connects to that frontend (/readyz ok); the NodeENI goes Ready through these pods, and the Web UI pod shows its workflow', async () => {
    const readyAt = await eventually('NodeENI Ready', async () => {
      const a = (await getNodeENI())?.status?.attachments ?? [];
      return a.length === 1 && a[0]!.phase === 'Ready' ? Date.now() : false;
    }, 300000, 200).catch(failWithPods);
    // Both started beside a namespace still being made, and waited for it instead of exiting.
    const [controller] = await podsOf(namespace, 'controller');
    const [agent] = await podsOf(namespace, 'node-agent');
    for (const p of [controller, agent]) {
      expect(p && podReady(p)).toBe(true);
      expect(p!.status?.containerStatuses?.[0]?.restartCount).toBe(0);
    }
    const readyz = await fetch(`http://127.0.0.1:${n!.ports.controllerMetrics}/readyz`);
    expect(readyz.status).toBe(200);
    // The controller's address is the Service name, resolved in its pod.
    const env = controller!.spec!.containers[0]!.env ?? [];
    expect(env.find((e) => e.name === 'TEMPORAL_ADDRESS')?.value).toBe(`${fullname}-frontend.${namespace}.svc:${ports.frontend.grpc}`);
    const att = (await getNodeENI())!.status!.attachments![0]!;
    const eni = (await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [att.eniID!] }))).NetworkInterfaces?.[0];
    expect(eni?.Attachment).toMatchObject({ InstanceId: n!.instanceId, DeviceIndex: 2, Status: 'attached' });
    // The lifecycle is a workflow of the chart's Temporal, not of the stack's.
    const workflowId = `nodeeni/${nodeENIName}/${n!.name}`;
    const t = await chartTemporal();
    const wf = await t.client.workflow.getHandle(workflowId).describe();
    await t.connection.close();
    expect(wf.taskQueue).toBe(taskQueue);
    const stackTemporal = await temporalClient();
    await expect(stackTemporal.client.workflow.getHandle(workflowId).describe()).rejects.toThrow(/not found/i);
    await stackTemporal.connection.close();
    // The Web UI pod answers with it (its API, as the UI's list page calls it).
    const query = encodeURIComponent(`WorkflowId="${workflowId}"`);
    const list = (await eventually('the Web UI lists the workflow', async () => {
      const r = await fetch(`http://127.0.0.1:${ports.web}/api/v1/namespaces/default/workflows?query=${query}`);
      const body = r.ok ? ((await r.json()) as { executions?: { execution?: { workflowId?: string } }[] }) : undefined;
      return body?.executions?.length ? body : false;
    }, 60000, 500)) as { executions: { execution?: { workflowId?: string } }[] };
    expect(list.executions.map((e) => e.execution?.workflowId)).toEqual([workflowId]);
    const page = await fetch(`http://127.0.0.1:${ports.web}/namespaces/default/workflows`);
    expect(page.status).toBe(200);
    log(`helm install → NodeENI Ready: ${seconds(readyAt - helmStarted)}; controller container started → Ready: ${seconds(readyAt - containerStartedAt(controller))}`);
  }, 400000);

  it('deleting the NodeENI: the ENI is detached and deleted through these pods', async () => {
    const eniId = (await getNodeENI())!.status!.attachments![0]!.eniID!;
    await k.custom.deleteClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODEENI_PLURAL, name: nodeENIName });
    await eventually('NodeENI gone', async () => (await getNodeENI()) === undefined, 120000).catch(failWithPods);
    const r = await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'network-interface-id', Values: [eniId] }] }));
    expect(r.NetworkInterfaces ?? []).toEqual([]);
  }, 180000);

  it('helm upgrade with a changed controller value: the controller is replaced and ready again; Temporal`s pods stay as they were', async () => {
    const before = await temporalPods();
    const [oldController] = await podsOf(namespace, 'controller');
    await n!.helm(['upgrade', release, chartDir, '--namespace', namespace, '-f', valuesFile, '--set', 'multi-eni-controller.controller.pollMs=500', '--timeout', '10m']);
    const controller = await eventually('a new controller pod ready', async () => {
      const p = await podsOf(namespace, 'controller');
      return p.length === 1 && p[0]!.metadata?.uid !== oldController!.metadata?.uid && podReady(p[0]!) ? p[0]! : false;
    }, 240000, 500).catch(failWithPods);
    expect(controller.spec?.containers[0]?.env?.find((e) => e.name === 'POLL_MS')?.value).toBe('500');
    const after = await temporalPods();
    for (const c of TEMPORAL_COMPONENTS) {
      expect(after[c]!.map((p) => p.metadata?.uid)).toEqual(before[c]!.map((p) => p.metadata?.uid));
      expect(after[c]!.map((p) => p.status?.containerStatuses?.[0]?.restartCount)).toEqual([0]);
    }
    expect((await psql(db.default, 'SELECT curr_version FROM schema_version')).stdout.trim()).toBe(wantedSchemaVersion('temporal'));
  }, 700000);

  it('helm uninstall: nothing of the release is left but what Helm documents (the CRDs)', async () => {
    n!.keepPodLogs();
    await n!.helm(['uninstall', release, '--namespace', namespace, '--wait', '--timeout', '180s']);
    uninstalled = true;
    await eventually('release pods gone', async () => (await k.core.listNamespacedPod({ namespace })).items.length === 0, 180000).catch(failWithPods);
    const selector = `app.kubernetes.io/instance=${release}`;
    const namespaced = await n!.kubectl(['-n', namespace, 'get', 'deployments,daemonsets,jobs,pods,services,configmaps,secrets,serviceaccounts,roles,rolebindings,poddisruptionbudgets', '-l', selector, '-o', 'name']);
    expect(namespaced.stdout.trim()).toBe('');
    const clusterScoped = await n!.kubectl(['get', 'clusterroles,clusterrolebindings,validatingadmissionpolicies,validatingadmissionpolicybindings', '-l', selector, '-o', 'name']);
    expect(clusterScoped.stdout.trim()).toBe('');
    // Helm's own record of the release goes too; what is left in the namespace is the Secret this test made.
    const secrets = (await k.core.listNamespacedSecret({ namespace })).items.map((x) => x.metadata?.name);
    expect(secrets).toEqual(['temporal-db']);
    const crds = await n!.kubectl(['get', 'crd', 'nodeenis.networking.k8s.aws', 'nodeeniattachments.networking.k8s.aws', '-o', 'name']);
    expect(crds.stdout.trim().split('\n')).toHaveLength(2);
  }, 300000);
});
