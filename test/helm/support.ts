// Helpers for the chart tests: run helm and kubectl from the stack's tool cache, render the chart, and make the
// offline copy of the chart that helm can render without the Temporal dependency present.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dumpYaml, loadAllYaml, loadYaml } from '@kubernetes/client-node';
import { REPO_ROOT, TOOLS_BIN } from '../../dev/stack/paths.js';

export const CHART_DIR = path.join(REPO_ROOT, 'helm', 'multi-eni-controller');
export const EXAMPLES_DIR = path.join(CHART_DIR, 'examples');
export const EXAMPLES = fs
  .readdirSync(EXAMPLES_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

/** The refusal helm 3 prints when a dependency declared in Chart.yaml is not in charts/ (template, install). */
export const MISSING_DEPENDENCY =
  'An error occurred while checking for chart dependencies. You may need to run `helm dependency build` to fetch missing dependencies: found in Chart.yaml, but missing in charts/ directory: temporal';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a tool from the stack's cache; never throws on a non-zero exit (tests assert on it). */
export function run(tool: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      path.isAbsolute(tool) ? tool : path.join(TOOLS_BIN, tool),
      args,
      {
        cwd: opts.cwd ?? REPO_ROOT,
        // A private HOME for helm: no user repositories or caches influence the result.
        env: { ...process.env, HOME: helmHome(), HELM_CACHE_HOME: path.join(helmHome(), 'cache'), HELM_CONFIG_HOME: path.join(helmHome(), 'config'), HELM_DATA_HOME: path.join(helmHome(), 'data'), ...opts.env },
        maxBuffer: 64 * 1024 * 1024,
        timeout: 120000,
      },
      (err, stdout, stderr) => {
        if (err && typeof (err as { code?: unknown }).code !== 'number') {
          reject(err);
          return;
        }
        resolve({ code: err ? Number((err as { code?: number }).code) : 0, stdout, stderr });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** One empty Helm home for every test run (helm keeps no state the tests rely on). */
function helmHome(): string {
  const home = path.join(os.tmpdir(), 'multi-eni-helm-test-home');
  fs.mkdirSync(home, { recursive: true });
  return home;
}

export const helm = (args: string[], opts?: Parameters<typeof run>[2]) => run('helm', args, opts);
export const kubectl = (kubeconfig: string, args: string[], opts?: Parameters<typeof run>[2]) => run('kubectl', ['--kubeconfig', kubeconfig, ...args], opts);

export interface ChartDependency {
  name: string;
  version: string;
  repository: string;
  condition?: string;
}

export function chartYaml(dir = CHART_DIR): { name: string; version: string; dependencies?: ChartDependency[] } {
  return loadYaml(fs.readFileSync(path.join(dir, 'Chart.yaml'), 'utf8'));
}

/**
 * Helm 3 refuses `helm template`/`helm install` while a dependency declared in Chart.yaml is missing from charts/,
 * whatever its `condition`, and `helm dependency build` needs the dependency's repository (not reachable here;
 * third-party chart code is not vendored). To render this chart's own templates offline, the tests use a copy of
 * the chart whose Chart.yaml has the `dependencies` entry removed and nothing else changed. With
 * `temporal.enabled: false` that is exactly what helm renders once the dependency is present; with
 * `temporal.enabled: true` the Temporal chart's own manifests are missing from the output.
 */
export function offlineCopy(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mec-chart-'));
  fs.cpSync(CHART_DIR, dir, { recursive: true });
  const chart = chartYaml(dir) as Record<string, unknown>;
  delete chart.dependencies;
  fs.writeFileSync(path.join(dir, 'Chart.yaml'), dumpYaml(chart));
  return dir;
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

export function parseManifests(text: string): K8sObject[] {
  return loadAllYaml(text).filter((d): d is K8sObject => !!d && typeof d === 'object' && 'kind' in d);
}

export function manifestsYaml(objects: K8sObject[]): string {
  return objects.map((o) => dumpYaml(o)).join('---\n');
}

/** The cluster name the tests install with (the chart has no default: every cluster names itself). */
export const TEST_CLUSTER_NAME = 'helm-test-cluster';

/**
 * A values file holding only `clusterName: helm-test-cluster`, which `render` passes first (so a later values file,
 * e.g. an example with its own clusterName, or a --set overrides it). Also for `helm lint` calls: `-f` it.
 */
export function clusterNameValues(): string {
  const file = path.join(helmHome(), 'cluster-name-values.yaml');
  fs.writeFileSync(file, `clusterName: ${TEST_CLUSTER_NAME}\n`);
  return file;
}

/**
 * `helm template` of a chart directory; throws with helm's stderr when it fails. The required clusterName comes
 * from clusterNameValues() unless `noClusterName` is set.
 */
export async function render(
  chartDir: string,
  opts: { release?: string; namespace?: string; valuesFiles?: string[]; set?: string[]; includeCrds?: boolean; noClusterName?: boolean } = {},
): Promise<{ yaml: string; objects: K8sObject[] }> {
  const args = ['template', opts.release ?? 'rel', chartDir, '--namespace', opts.namespace ?? 'multi-eni'];
  if (opts.includeCrds) args.push('--include-crds');
  if (!opts.noClusterName) args.push('-f', clusterNameValues());
  for (const f of opts.valuesFiles ?? []) args.push('-f', f);
  for (const s of opts.set ?? []) args.push('--set', s);
  const r = await helm(args);
  if (r.code !== 0) throw new Error(`helm ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return { yaml: r.stdout, objects: parseManifests(r.stdout) };
}

export function find(objects: K8sObject[], kind: string, nameSuffix = ''): K8sObject {
  const o = objects.find((x) => x.kind === kind && x.metadata.name.endsWith(nameSuffix));
  if (!o) throw new Error(`no ${kind} *${nameSuffix} in ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o;
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
}
interface Container {
  name: string;
  args?: string[];
  env?: EnvVar[];
  securityContext?: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
export interface PodSpec {
  serviceAccountName?: string;
  hostNetwork?: boolean;
  dnsPolicy?: string;
  containers: Container[];
  volumes?: { name: string; hostPath?: { path: string }; secret?: { secretName: string } }[];
  nodeSelector?: Record<string, string>;
  tolerations?: unknown[];
}

export function podSpec(o: K8sObject): PodSpec {
  return (o as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
}

/** The container's environment as name → value (or a description of where the value comes from). */
export function envOf(o: K8sObject): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of podSpec(o).containers[0]!.env ?? []) {
    if (e.value !== undefined) out[e.name] = e.value;
    else if (e.valueFrom?.secretKeyRef) out[e.name] = `secret:${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`;
    else if (e.valueFrom?.fieldRef) out[e.name] = `field:${e.valueFrom.fieldRef.fieldPath}`;
  }
  return out;
}

/**
 * Deletes a test namespace for good. This stack runs no controller-manager, so nothing would empty a deleted
 * namespace and it would stay Terminating forever: the objects the test made in it are deleted first (pods
 * forced, as no kubelet confirms their deletion), then the namespace's `kubernetes` finalizer is cleared.
 */
export async function removeNamespace(kubeconfig: string, ns: string, kinds = 'pods,serviceaccounts,roles,rolebindings,leases'): Promise<void> {
  await kubectl(kubeconfig, ['delete', kinds, '--all', '-n', ns, '--force', '--grace-period=0', '--ignore-not-found', '--wait=false']);
  const del = await kubectl(kubeconfig, ['delete', 'namespace', ns, '--ignore-not-found', '--wait=false']);
  if (del.code !== 0) throw new Error(`delete namespace ${ns}: ${del.stderr}`);
  const get = await kubectl(kubeconfig, ['get', 'namespace', ns, '-o', 'json', '--ignore-not-found']);
  if (!get.stdout.trim()) return;
  const obj = JSON.parse(get.stdout) as { spec?: { finalizers?: string[] } };
  obj.spec = { ...obj.spec, finalizers: [] };
  const fin = await kubectl(kubeconfig, ['replace', '--raw', `/api/v1/namespaces/${ns}/finalize`, '-f', '-'], { input: JSON.stringify(obj) });
  if (fin.code !== 0) throw new Error(`finalize namespace ${ns}: ${fin.stderr}`);
}
