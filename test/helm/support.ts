// Helpers for the chart tests: run helm and kubectl from the stack's tool cache, render the charts, and make the
// copy of helm/multi-eni-with-temporal that helm can build and render without the Temporal chart (not fetched:
// the tests talk only to loopback).
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

/** helm/multi-eni-with-temporal: the controller chart and the Temporal chart in one release. */
export const UMBRELLA_DIR = path.join(REPO_ROOT, 'helm', 'multi-eni-with-temporal');
export const UMBRELLA_EXAMPLES_DIR = path.join(UMBRELLA_DIR, 'examples');

/**
 * An environment for helm in which any connection beyond loopback fails: every HTTP(S) request goes to a proxy
 * on a closed loopback port. A helm command that succeeds with it needed no network.
 */
export const NO_NETWORK: NodeJS.ProcessEnv = { HTTP_PROXY: 'http://127.0.0.1:1', HTTPS_PROXY: 'http://127.0.0.1:1', NO_PROXY: '', http_proxy: 'http://127.0.0.1:1', https_proxy: 'http://127.0.0.1:1', no_proxy: '' };

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
 * A throwaway copy of the controller chart, for tests that may write into it. The chart renders from the checkout
 * as it is (no dependency, no network).
 */
export function offlineCopy(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mec-chart-'));
  fs.cpSync(CHART_DIR, dir, { recursive: true });
  return dir;
}

/**
 * helm/multi-eni-with-temporal as far as it builds without the network: a copy (next to a link to the controller
 * chart, so that `file://../multi-eni-controller` resolves) whose Chart.yaml lists only the controller, then
 * `helm dependency build` with no network, which packages the controller chart from this checkout into charts/.
 * Everything else (values, templates, examples) is the chart's own. What it renders is the release minus the
 * Temporal chart's objects. Returns the copy's chart directory; remove `path.dirname(dir)` afterwards.
 */
export async function umbrellaWithoutTemporal(): Promise<string> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mewt-chart-'));
  const dir = path.join(root, path.basename(UMBRELLA_DIR));
  fs.cpSync(UMBRELLA_DIR, dir, { recursive: true });
  fs.symlinkSync(CHART_DIR, path.join(root, path.basename(CHART_DIR)));
  const chart = chartYaml(dir) as Record<string, unknown> & { dependencies: ChartDependency[] };
  chart.dependencies = chart.dependencies.filter((d) => d.name !== 'temporal');
  fs.writeFileSync(path.join(dir, 'Chart.yaml'), dumpYaml(chart));
  const r = await helm(['dependency', 'build', dir], { env: NO_NETWORK });
  if (r.code !== 0) throw new Error(`helm dependency build ${dir} failed (${r.code}): ${r.stderr}`);
  return dir;
}

/**
 * The real Temporal chart 1.6.0, exactly as published: test data beside the project on this machine, never copied
 * into a checkout. MULTI_ENI_TEMPORAL_CHART names it; otherwise ../shared/third-party/temporal-helm-chart/ of the
 * checkout, or of /work (where a clone elsewhere finds it).
 */
const TEMPORAL_CHART_CANDIDATES = [process.env.MULTI_ENI_TEMPORAL_CHART ?? '', ...[path.join(REPO_ROOT, '..'), '/work'].map((d) => path.join(d, 'shared', 'third-party', 'temporal-helm-chart', 'temporal-1.6.0.tgz'))];
export const TEMPORAL_CHART_TGZ = TEMPORAL_CHART_CANDIDATES.find((f) => f && fs.existsSync(f)) ?? TEMPORAL_CHART_CANDIDATES[1]!;

/**
 * A scratch copy of helm/multi-eni-with-temporal with both dependencies in its charts/ as `helm dependency build`
 * leaves them: the controller chart of this checkout packaged, and the real Temporal chart copied from
 * TEMPORAL_CHART_TGZ (go.temporal.io is out of reach here). Returns the copy's directory; remove its parent after.
 */
export async function umbrellaWithTemporal(): Promise<string> {
  if (!fs.existsSync(TEMPORAL_CHART_TGZ)) throw new Error(`the Temporal chart 1.6.0 is not at any of ${TEMPORAL_CHART_CANDIDATES.filter(Boolean).join(', ')}: set MULTI_ENI_TEMPORAL_CHART to its .tgz`);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mewt-chart-'));
  const dir = path.join(root, path.basename(UMBRELLA_DIR));
  fs.cpSync(UMBRELLA_DIR, dir, { recursive: true });
  fs.mkdirSync(path.join(dir, 'charts'), { recursive: true });
  const r = await helm(['package', CHART_DIR, '--destination', path.join(dir, 'charts')], { env: NO_NETWORK });
  if (r.code !== 0) throw new Error(`helm package ${CHART_DIR} failed (${r.code}): ${r.stderr}`);
  fs.copyFileSync(TEMPORAL_CHART_TGZ, path.join(dir, 'charts', path.basename(TEMPORAL_CHART_TGZ)));
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
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
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
